import { ToolOutputs } from "../../protocol/tool-outputs.js";
import { defineAgentTool } from "../tool.js";

export const ackMessagesTool = defineAgentTool(
  {
    name: "ack_messages",
    title: "Acknowledge messages",
    description:
      "Mark messages you fetched as handled, so they are not handed out again. " +
      "Safe to repeat: ids acked before come back in `already_acked`, ids not in your inbox in `unknown`.",
    output: ToolOutputs.ack_messages,
    annotations: { readOnlyHint: false, idempotentHint: true, openWorldHint: false },
  },
  async ({ input, caller, deps: { service } }) => {
    const result = await service.ack(caller.agent, input.message_ids);
    const parts = [`acked ${result.acked.length}`];
    if (result.already_acked.length > 0) parts.push(`${result.already_acked.length} already acked`);
    if (result.unknown.length > 0) parts.push(`unknown: ${result.unknown.join(", ")}`);
    return { data: result, text: parts.join(", ") };
  },
);
