import { ToolOutputs } from "../../protocol/tool-outputs.js";
import { preview } from "../text.js";
import { defineAgentTool } from "../tool.js";

export const getMessageTool = defineAgentTool(
  {
    name: "get_message",
    title: "Get a message",
    description:
      "One message you sent or received, with where it stands: as a whole (accepted, routed, …) and " +
      "per recipient (queued, delivered, read, acked, expired, …). Use it to see whether your message arrived.",
    output: ToolOutputs.get_message,
    annotations: { readOnlyHint: true, openWorldHint: false },
  },
  async ({ input, caller, deps: { service } }) => {
    const message = await service.getMessage(caller.agent, input.message_id);
    const recipients = Object.entries(message.recipients)
      .map(([name, state]) => `${name} ${state.status}`)
      .join(", ");
    const status = message.status?.status ?? "accepted";
    return {
      data: { message },
      text: `${message.message_id} from ${message.from}: ${preview(message)}; ${status}${recipients === "" ? "" : ` (${recipients})`}`,
    };
  },
);
