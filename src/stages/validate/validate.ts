import type { ChainableCommander } from "ioredis";
import { decodeEnvelope } from "../../protocol/codec.js";
import type { Envelope } from "../../protocol/envelope.js";
import { claimOf, formatClaim, parseClaim } from "../../protocol/idempotency.js";
import { UUID_V7_PATTERN } from "../../protocol/ids.js";
import { checkBodyDepth } from "../../protocol/json-value.js";
import { SwitchboardError, toErrorInfo } from "../../protocol/errors.js";
import { sendBatch, type ItemReplies } from "../../redis/batch.js";
import { RecordField, readStoredEnvelopes, type StoredEnvelope } from "../../history/record.js";
import { Field, text, type FieldList, type StreamEntry } from "../../streams/entry.js";
import type { Outcome, StageContext, StageFactory } from "../../pipeline/stage.js";

/**
 * validate: the trust boundary of the pipeline. Reads the envelope from the message record
 * (or the entry, from a producer that bypassed the front end), checks it (schema, sizes,
 * expiry), refuses a reused idempotency key, and gives the message its place in its
 * thread. It forwards a small routing header, so later stages need not decode the body.
 * Everything it refuses goes to persist with the reason.
 */
export const validateStage: StageFactory = (context) => ({
  async handle(entries) {
    const stored = await storedEnvelopes(context, entries);
    const checked = entries.map((entry, i) => check(context, entry, stored[i]));
    const valid = checked.filter((c): c is Checked => !("kind" in c));
    const replies = await sendBatch(context.redis, valid, (batch, item) =>
      queueWrites(context, batch, item),
    );
    let next = 0;
    return checked.map((c) => ("kind" in c ? c : conclude(c, replies[next++]!)));
  },
});

/** Each entry's envelope: carried in the entry, else read (in one round trip) from its record. */
async function storedEnvelopes(
  context: StageContext,
  entries: readonly StreamEntry[],
): Promise<(StoredEnvelope | undefined)[]> {
  const carried = entries.map((entry): StoredEnvelope | undefined => {
    const data = entry.fields.get(Field.envelope);
    return data === undefined
      ? undefined
      : { enc: text(entry, Field.encoding) ?? "json", data, seq: undefined };
  });
  // The ids to read: entries with no envelope of their own (and an id to find one by).
  const toRead = entries.map((entry, i) =>
    carried[i] === undefined ? text(entry, Field.messageId) : undefined,
  );
  const ids = toRead.filter((id): id is string => id !== undefined);
  const read = new Map(
    (await readStoredEnvelopes(context.redis, context.keys, ids)).map((s, i) => [ids[i]!, s]),
  );
  return carried.map((c, i) => c ?? (toRead[i] === undefined ? undefined : read.get(toRead[i])));
}

/** A message whose thread was made for it (the front end's default) is first in its thread. */
function startsThread(envelope: Envelope): boolean {
  return envelope.thread_id === envelope.id;
}

interface Checked {
  envelope: Envelope;
  /** The envelope came in the entry: validate stores it in the record. */
  carried: StoredEnvelope | undefined;
}

/** The envelope that passed the checks, or the outcome that refuses the entry. */
function check(
  context: StageContext,
  entry: StreamEntry,
  stored: StoredEnvelope | undefined,
): Checked | Outcome {
  try {
    const envelope = checkEnvelope(context, entry, stored);
    return { envelope, carried: entry.fields.has(Field.envelope) ? stored : undefined };
  } catch (error) {
    const info = toErrorInfo(error);
    return {
      kind: "reject",
      status: info.code === "EXPIRED" ? "expired" : "rejected",
      error: info,
    };
  }
}

function checkEnvelope(
  context: StageContext,
  entry: StreamEntry,
  stored: StoredEnvelope | undefined,
): Envelope {
  const { limits } = context.pipeline;
  const mid = text(entry, Field.messageId);
  if (stored === undefined) {
    throw new SwitchboardError(
      "MALFORMED_ENTRY",
      mid === undefined
        ? "entry has neither a message id nor an envelope"
        : `message ${mid} has no stored envelope (its record is gone)`,
      { field: "env" },
    );
  }
  const envelope = decodeEnvelope(stored.enc, stored.data, limits);
  if (mid !== undefined && mid !== envelope.id) {
    throw new SwitchboardError(
      "MALFORMED_ENTRY",
      `entry says message ${mid} but holds envelope ${envelope.id}`,
      { field: "id" },
    );
  }
  checkBodyDepth(envelope.body, limits.maxBodyDepth);
  // The body is part of the envelope: only an envelope larger than the limit needs measuring.
  const size = stored.enc === "json" ? stored.data.length : Infinity;
  const bodyBytes =
    size <= limits.maxBodyBytes ? 0 : Buffer.byteLength(JSON.stringify(envelope.body), "utf8");
  if (bodyBytes > limits.maxBodyBytes) {
    throw new SwitchboardError(
      "TOO_LARGE",
      `body is ${bodyBytes} bytes, over the limit of ${limits.maxBodyBytes}; send a smaller body or a link to the data (operators: \`limits.maxBodyBytes\`)`,
      { field: "body" },
    );
  }
  if (envelope.expires_at !== undefined && Date.parse(envelope.expires_at) <= context.now()) {
    throw new SwitchboardError(
      "EXPIRED",
      `message expired at ${envelope.expires_at} before it was validated`,
      {
        field: "expires_at",
      },
    );
  }
  return envelope;
}

/** Idempotency key, thread sequence, and the record of an envelope that came in the entry. */
function queueWrites(context: StageContext, batch: ChainableCommander, item: Checked): void {
  const { keys, pipeline: definition } = context;
  const { envelope, carried } = item;
  const ttl = definition.history.retentionMs;
  if (envelope.idempotency_key !== undefined) {
    const key = keys.idempotency(envelope.from, envelope.idempotency_key);
    const claim = formatClaim(claimOf(envelope));
    batch.set(key, claim, "PX", definition.dedupe.idempotencyWindowMs, "NX", "GET");
  }
  if (envelope.seq === undefined && !startsThread(envelope)) {
    // A crash before the commit leaves a gap in the numbering, never a repeat. A thread
    // made for its first message (its id is that message's) starts at 1 with no counter:
    // the first reply creates the counter at 1, then counts on.
    const seqKey = keys.threadSeq(envelope.thread_id);
    if (UUID_V7_PATTERN.test(envelope.thread_id)) batch.set(seqKey, 1, "NX");
    batch.incr(seqKey).pexpire(seqKey, ttl);
  }
  if (carried !== undefined) {
    const record = keys.message(envelope.id);
    batch
      .hset(record, RecordField.encoding, carried.enc, RecordField.envelope, carried.data)
      .pexpire(record, ttl);
  }
}

/**
 * Applies what Redis answered: the idempotency key (the same message coming back after a
 * redelivery passes; another message with the same key is refused) and the sequence.
 */
function conclude(item: Checked, answer: ItemReplies): Outcome {
  if (!answer.ok) return { kind: "retry", error: toErrorInfo(answer.error) };
  const { envelope } = item;
  const replies = [...answer.replies];
  if (envelope.idempotency_key !== undefined) {
    const claimed = replies.shift() as string | null;
    const first = claimed === null ? null : parseClaim(claimed).message_id;
    if (first !== null && first !== envelope.id) {
      const error = new SwitchboardError(
        "DUPLICATE_IDEMPOTENCY_KEY",
        `idempotency key '${envelope.idempotency_key}' was already used by message ${first}; use a new key for a new message`,
        { field: "idempotency_key" },
      );
      return { kind: "reject", status: "rejected", error: error.toInfo() };
    }
  }
  let seq = envelope.seq ?? 1;
  if (envelope.seq === undefined && !startsThread(envelope)) {
    if (UUID_V7_PATTERN.test(envelope.thread_id)) replies.shift(); // the SET NX
    seq = replies.shift() as number;
  }
  return { kind: "forward", outputs: [{ to: "route", fields: routingHeader(envelope, seq) }] };
}

/** What route, deliver and persist need to know of a message, without its body. */
function routingHeader(envelope: Envelope, seq: number): FieldList {
  const fields: FieldList = [
    Field.kind,
    "msg",
    Field.messageId,
    envelope.id,
    Field.from,
    envelope.from,
    Field.target,
    JSON.stringify(envelope.to),
    Field.type,
    envelope.type,
    Field.threadId,
    envelope.thread_id,
    Field.seq,
    String(seq),
  ];
  if (envelope.expires_at !== undefined)
    fields.push(Field.expiresAt, String(Date.parse(envelope.expires_at)));
  if (envelope.reply_to !== undefined) fields.push(Field.replyTo, envelope.reply_to);
  return fields;
}
