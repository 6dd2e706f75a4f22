import type { InboxMessage } from "../../inbox/inbox.js";
import { ToolOutputs } from "../../protocol/tool-outputs.js";
import { preview } from "../text.js";
import { defineAgentTool } from "../tool.js";
import { plural } from "../../protocol/words.js";

/**
 * The longest a fetch waits here: below the 60 s after which MCP clients give up on a
 * call by default, so an empty long poll returns an empty result rather than a timeout.
 */
export const MAX_MCP_WAIT_SECONDS = 55;

export const fetchInboxTool = defineAgentTool(
  {
    name: "fetch_inbox",
    title: "Fetch your inbox",
    description:
      "Take the oldest waiting messages addressed to you (redelivered ones first). " +
      "Then handle each and call ack_messages with their ids; a message not acked within the " +
      "visibility timeout is handed out again. With `wait_seconds` an empty inbox waits for mail " +
      `(at most ${MAX_MCP_WAIT_SECONDS} s here, so the call ends before clients time out).`,
    output: ToolOutputs.fetch_inbox,
    annotations: { readOnlyHint: false, idempotentHint: false, openWorldHint: false },
  },
  async ({ input, caller, ctx, deps: { service } }) => {
    const wait = Math.min(input.wait_seconds, MAX_MCP_WAIT_SECONDS);
    const messages = await service.fetch(
      caller.agent,
      { ...input, wait_seconds: wait },
      ctx.mcpReq.signal,
    );
    return { data: { messages, count: messages.length }, text: fetchedText(messages) };
  },
);

function fetchedText(messages: readonly InboxMessage[]): string {
  if (messages.length === 0) return "no messages";
  const lines = messages.map(
    (m) => `${m.message_id} from ${m.from}${m.redelivered ? " (again)" : ""}: ${preview(m)}`,
  );
  return `${plural(messages.length, "message")} (ack them when handled): ${lines.join("; ")}`;
}
