import { SwitchboardError, toErrorInfo } from "../../protocol/errors.js";
import { AgentNameSchema } from "../../protocol/envelope.js";
import { sendBatch } from "../../redis/batch.js";
import { awaitReplicas } from "../../redis/durability.js";
import type { ScriptReply } from "../../redis/script.js";
import { carry, Field, text, type StreamEntry } from "../../streams/entry.js";
import { DONE, type Outcome, type StageContext, type StageFactory } from "../../pipeline/stage.js";
import { inboxAppendScript } from "../../inbox/scripts.js";
import { traceInboxSend, type InboxSend } from "../../inbox/tracing.js";
import { recordDelivered } from "../../telemetry/record.js";
import { PUSHED } from "./push.js";
import { deliveredStatus, pushedStatus } from "./push-results.js";

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
    const replies = await sendBatch(context.redis, deliverable, function queueAppend(batch, item) {
      const { recipient, messageId, replyTo } = item;
      inboxAppendScript.queue(batch, {
        keys,
        agent: recipient,
        messageId,
        replyTo,
        markerTtlMs: definition.dedupe.deliveryWindowMs,
        quota: definition.inbox.quota,
        fields: [...carry(item.entry, [Field.messageId, Field.seq]), ...item.send.fields],
      });
    });
    let next = 0;
    /** Entries for webhook recipients, by their place in the batch. */
    const pushes = new Map<number, StreamEntry>();
    const outcomes = checked.map((c, i): Outcome => {
      if ("kind" in c) return c;
      const answer = replies[next++]!;
      c.send.end(answer);
      if (!answer.ok) return { kind: "retry", error: toErrorInfo(answer.error) };
      const [inboxId, appended] = answer.replies[0] as ScriptReply<typeof inboxAppendScript>;
      if (appended === -1) return full(context, c.recipient);
      if (appended === 2) {
        pushes.set(i, c.entry);
        return DONE;
      }
      // Pushed before: maybe by a first try whose entry was not acknowledged (a crash).
      if (inboxId === PUSHED)
        return { kind: "forward", outputs: [pushedStatus(c.messageId, c.recipient)] };
      if (appended === 1) recordDelivered("inbox", c.messageId);
      return {
        kind: "forward",
        outputs: [deliveredStatus(c.messageId, c.recipient, { inboxId })],
      };
    });
    return push(context, pushes, await confirmed(context, deliverable, outcomes));
  },
});

/**
 * `durability: replicated`: an inbox append counts (its entry acknowledged, `delivered`
 * told to persist) once the replicas have it; until then the delivery is retried, and the
 * inbox's marker keeps the retry from appending twice.
 */
async function confirmed(
  context: StageContext,
  deliverable: readonly Deliverable[],
  outcomes: Outcome[],
): Promise<Outcome[]> {
  const inboxes = deliverable.map((d) => context.keys.inbox(d.recipient));
  try {
    await awaitReplicas(context.redis, context.pipeline.durability, inboxes, UNCONFIRMED);
    return outcomes;
  } catch (error) {
    const retry: Outcome = { kind: "retry", error: toErrorInfo(error) };
    return outcomes.map((o) => (o.kind === "forward" ? retry : o));
  }
}

const UNCONFIRMED =
  "inbox append not confirmed by the replicas: the recipient may see the message already, but a failover could lose it; the delivery is retried";

/** Pushes to webhook recipients: the first tries now, what fails to the webhook queue. */
async function push(
  context: StageContext,
  pushes: ReadonlyMap<number, StreamEntry>,
  outcomes: Outcome[],
): Promise<Outcome[]> {
  if (pushes.size === 0) return outcomes;
  const pushed = await context.webhooks.push([...pushes.values()]);
  [...pushes.keys()].forEach((i, k) => (outcomes[i] = pushed[k]!));
  return outcomes;
}

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
