import { SwitchboardError, toErrorInfo } from "../../protocol/errors.js";
import { AgentNameSchema } from "../../protocol/envelope.js";
import { pipelined } from "../../redis/batch.js";
import { carry, Field, text, type StreamEntry } from "../../pipeline/entry.js";
import type { Outcome, StageContext, StageFactory } from "../../pipeline/stage.js";
import { traceInboxSend, type InboxSend } from "../../inbox/tracing.js";

/**
 * deliver: appends a message to one recipient's inbox stream, once per message and
 * recipient however often the entry is handed out, within the inbox quota; announces the
 * mail (for long-polls and resource subscriptions) and tells persist.
 */
export const deliverStage: StageFactory = (context) => ({
  async handle(entries) {
    const checked = entries.map((entry) => check(context, entry));
    const deliverable = checked.filter((c): c is Deliverable => !("kind" in c));
    const { keys, pipeline: definition } = context;
    const replies = await pipelined(
      context.redis,
      deliverable,
      function queueAppend(pipeline, item) {
        const { recipient, messageId, replyTo } = item;
        pipeline.sbInboxAppend(
          4,
          keys.inbox(recipient),
          keys.delivered(recipient, messageId),
          keys.unacked(recipient),
          keys.replyTo(recipient, replyTo ?? messageId),
          definition.dedupe.deliveryWindowMs,
          definition.inbox.quota,
          replyTo === undefined ? "" : messageId,
          keys.mailChannel(),
          replyTo === undefined ? recipient : `${recipient} ${replyTo}`,
          ...carry(item.entry, [Field.messageId, Field.seq]),
          ...item.send.fields,
        );
      },
    );
    let next = 0;
    return checked.map((c): Outcome => {
      if ("kind" in c) return c;
      const answer = replies[next++]!;
      c.send.end(answer);
      if (!answer.ok) return { kind: "retry", error: toErrorInfo(answer.error) };
      const [inboxId, appended] = answer.replies[0] as [string, number];
      if (appended === -1) return full(context, c.recipient);
      return {
        kind: "forward",
        outputs: [
          {
            to: "persist",
            fields: [
              Field.kind,
              "status",
              Field.messageId,
              c.messageId,
              Field.recipient,
              c.recipient,
              Field.status,
              "delivered",
              Field.inboxId,
              inboxId,
            ],
          },
        ],
      };
    });
  },
});

interface Deliverable {
  entry: StreamEntry;
  messageId: string;
  recipient: string;
  replyTo: string | undefined;
  /** The `send inbox` span: its context goes into the inbox entry. */
  send: InboxSend;
}

/** A full inbox: refused (the sender is told), or left pending to be tried again. */
function full(context: StageContext, recipient: string): Outcome {
  const { quota, overflow } = context.pipeline.inbox;
  const error = new SwitchboardError(
    "INBOX_FULL",
    `inbox of agent '${recipient}' is full (${quota} unacknowledged messages); '${recipient}' must fetch and ack, or operators raise \`inbox.quota\``,
    { field: "to" },
  ).toInfo();
  return overflow === "defer"
    ? { kind: "retry", error }
    : { kind: "reject", status: "undeliverable", error };
}

/** What to append, or the outcome that refuses the entry (malformed, or expired on the way). */
function check(context: StageContext, entry: StreamEntry): Deliverable | Outcome {
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
  const send = traceInboxSend(entry, recipient);
  return { entry, messageId, recipient, replyTo: text(entry, Field.replyTo), send };
}
