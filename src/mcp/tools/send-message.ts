import { traceContextOf } from "../../protocol/envelope.js";
import type { ToolInput } from "../../protocol/tools.js";
import type { SendResult } from "../../service/send.js";
import { ToolOutputs } from "../../protocol/tool-outputs.js";
import { namesText, preview } from "../text.js";
import { defineAgentTool } from "../tool.js";

export const sendMessageTool = defineAgentTool(
  {
    name: "send_message",
    title: "Send a message",
    description:
      "Send a message as yourself. Give exactly one target: `to` (agent names), `capability` " +
      "(with `mode` any: one agent, or all), `broadcast: true` (everyone but you), or `topic` (its subscribers). " +
      "Returns at once with the message and thread ids once accepted; delivery happens right after. " +
      "To answer a message, pass its id as `reply_to` (the thread is kept). " +
      "With `await_reply_seconds` it waits for the first reply and returns it. " +
      "Retrying with the same `idempotency_key` and body returns the first message instead of sending twice.",
    output: ToolOutputs.send_message,
    annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
    // Delivery (even to oneself) happens after the call, in the stages; an awaited reply does not.
    keepsInbox: (input) => input.await_reply_seconds === undefined,
  },
  async ({ input, caller, ctx, deps: { service } }) => {
    const meta = ctx.mcpReq._meta;
    const trace = traceContextOf(meta?.traceparent, meta?.tracestate);
    const result = await service.send(caller.agent, input, trace, ctx.mcpReq.signal);
    return { data: result, text: sentText(input, result) };
  },
);

function targetText(input: ToolInput<"send_message">): string {
  if (input.to !== undefined) return namesText(input.to);
  if (input.topic !== undefined) return `topic ${input.topic}`;
  if (input.broadcast === true) {
    return input.capability === undefined ? "everyone" : `everyone with ${input.capability}`;
  }
  return `capability ${input.capability ?? "?"} (${input.mode ?? "any"})`;
}

function sentText(input: ToolInput<"send_message">, result: SendResult): string {
  const sent =
    result.status === "duplicate"
      ? `already sent as ${result.message_id} (same idempotency key and body; not sent again)`
      : `sent ${result.message_id} to ${targetText(input)} (thread ${result.thread_id})`;
  if (result.reply === undefined) return sent;
  if (result.reply === null) {
    return `${sent}; no reply within ${input.await_reply_seconds ?? 0} s (fetch_inbox later)`;
  }
  return `${sent}; reply ${result.reply.message_id} from ${result.reply.from}: ${preview(result.reply)}`;
}
