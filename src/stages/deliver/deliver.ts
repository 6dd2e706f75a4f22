import { SwitchboardError, toErrorInfo } from "../../protocol/errors.js";
import { AgentNameSchema } from "../../protocol/envelope.js";
import { carry, Field, text, type StreamEntry } from "../../pipeline/entry.js";
import type { Outcome, StageContext, StageFactory } from "../../pipeline/stage.js";

/**
 * deliver: appends a message to one recipient's inbox stream, once per message and
 * recipient however often the entry is handed out, and tells persist.
 */
export const deliverStage: StageFactory = (context) => ({
  handle: (entries) => Promise.all(entries.map((entry) => deliverOne(context, entry))),
});

async function deliverOne(context: StageContext, entry: StreamEntry): Promise<Outcome> {
  const messageId = text(entry, Field.messageId);
  const recipient = text(entry, Field.recipient);
  if (
    messageId === undefined ||
    recipient === undefined ||
    !AgentNameSchema.safeParse(recipient).success
  ) {
    const error = new SwitchboardError(
      "MALFORMED_ENTRY",
      "deliver entry lacks a message id or a valid recipient",
      {
        field: messageId === undefined ? "mid" : "rcpt",
      },
    );
    return { kind: "reject", status: "rejected", error: error.toInfo() };
  }
  const expiresAt = Number(text(entry, Field.expiresAt) ?? Infinity);
  if (expiresAt <= context.now()) {
    const error = new SwitchboardError(
      "EXPIRED",
      `message expired at ${new Date(expiresAt).toISOString()} before it reached ${recipient}'s inbox`,
      { field: "expires_at" },
    );
    return { kind: "reject", status: "expired", error: error.toInfo() };
  }
  try {
    const [inboxId] = await context.redis.sbInboxAppend(
      2,
      context.keys.inbox(recipient),
      context.keys.delivered(recipient, messageId),
      context.pipeline.dedupe.deliveryWindowMs,
      ...carry(entry, [Field.messageId, Field.encoding, Field.envelope]),
    );
    return {
      kind: "forward",
      outputs: [
        {
          to: "persist",
          fields: [
            Field.kind,
            "status",
            Field.messageId,
            messageId,
            Field.recipient,
            recipient,
            Field.status,
            "delivered",
            Field.inboxId,
            inboxId,
          ],
        },
      ],
    };
  } catch (error) {
    return { kind: "retry", error: toErrorInfo(error) };
  }
}
