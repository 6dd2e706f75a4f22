import type { ChainableCommander } from "ioredis";
import { decodeEnvelope } from "../../protocol/codec.js";
import type { Envelope } from "../../protocol/envelope.js";
import type { ErrorInfo } from "../../protocol/errors.js";
import { SwitchboardError, toErrorInfo } from "../../protocol/errors.js";
import {
  FAILURE_STATUSES,
  MESSAGE_STATUS_RANK,
  RECIPIENT_STATUS_RANK,
  type MessageStatus,
  type RecipientStatus,
} from "../../protocol/status.js";
import { sendBatch } from "../../redis/batch.js";
import {
  decodeStored,
  readStoredEnvelopes,
  RecordField,
  type RetryState,
  type StatusEvent,
} from "../../history/record.js";
import { Field, text, type Output, type StreamEntry } from "../../streams/entry.js";
import { DONE, type Outcome, type StageContext, type StageFactory } from "../../pipeline/stage.js";
import { recordActivity } from "./activity.js";
import { noticeFor } from "./notice.js";

/**
 * persist: the one writer of message history (the front end stores only the envelope as
 * accepted). A routed message gets its recipients, its sequence number and its place in
 * the thread index; each later status (delivered, expired, rejected, undeliverable,
 * dead-lettered) is one more field of the record; a failure brings the sender a notice.
 * Records and indexes live `history.retentionMs` from acceptance.
 */
export const persistStage: StageFactory = (context) => ({
  async handle(entries) {
    const envelopes = await envelopesOfFailures(context, entries);
    const planned = entries.map((entry) => plan(context, entry, envelopes));
    const writes = planned.filter((p): p is Planned => "write" in p);
    const activity = recordActivity(
      context,
      entries.filter((_, i) => "write" in planned[i]!),
    );
    const queued = writes.map((p) => p.write);
    // Last in the batch, so each entry's replies are where `next` finds them.
    if (activity !== undefined) queued.push(activity);
    const replies = await sendBatch(context.redis, queued, (batch, write) => write(batch));
    let next = 0;
    return planned.map((p): Outcome => {
      if (!("write" in p)) return p;
      const answer = replies[next++]!;
      if (!answer.ok) return { kind: "retry", error: toErrorInfo(answer.error) };
      return p.notice === undefined ? DONE : { kind: "forward", outputs: [p.notice] };
    });
  },
});

/** Queues one entry's writes. */
type Write = (batch: ChainableCommander) => void;

/** An entry's writes, and the notice its sender gets, if any. */
interface Planned {
  write: Write;
  notice?: Output | undefined;
}

function isFailure(entry: StreamEntry): boolean {
  return (
    text(entry, Field.kind) === "status" &&
    (FAILURE_STATUSES as readonly string[]).includes(text(entry, Field.status) ?? "")
  );
}

/**
 * The envelopes of the messages that failed in this batch, for the notices to their
 * senders: carried in the entry, or read from the records in one round trip.
 */
async function envelopesOfFailures(
  context: StageContext,
  entries: readonly StreamEntry[],
): Promise<Map<string, Envelope>> {
  const failed = entries.filter(isFailure);
  const ids = [
    ...new Set(
      failed.map((e) => text(e, Field.messageId)).filter((id): id is string => id !== undefined),
    ),
  ];
  const stored = await readStoredEnvelopes(context.redis, context.keys, ids);
  const envelopes = new Map<string, Envelope>();
  const keep = (id: string, decode: () => Envelope) => {
    try {
      envelopes.set(id, decode());
    } catch {
      // unreadable: nobody to tell
    }
  };
  ids.forEach((id, i) => {
    const s = stored[i];
    if (s !== undefined) keep(id, () => decodeStored(s, context.pipeline.limits));
  });
  for (const entry of failed) {
    const id = text(entry, Field.messageId);
    const data = entry.fields.get(Field.envelope);
    if (id !== undefined && data !== undefined && !envelopes.has(id)) {
      keep(id, () =>
        decodeEnvelope(text(entry, Field.encoding) ?? "json", data, context.pipeline.limits),
      );
    }
  }
  return envelopes;
}

/** The writes for an entry, or the outcome that refuses it. */
function plan(
  context: StageContext,
  entry: StreamEntry,
  envelopes: ReadonlyMap<string, Envelope>,
): Planned | Outcome {
  try {
    const kind = text(entry, Field.kind);
    if (kind === "routed") return { write: planRouted(context, entry) };
    if (kind === "status") return planStatus(context, entry, envelopes);
    throw new SwitchboardError(
      "MALFORMED_ENTRY",
      `persist cannot record an entry of kind '${kind}'`,
      { field: "t" },
    );
  } catch (error) {
    return { kind: "reject", status: "rejected", error: toErrorInfo(error) };
  }
}

function event(context: StageContext, extra: Omit<StatusEvent, "at"> = {}): string {
  return JSON.stringify({ at: new Date(context.now()).toISOString(), ...extra });
}

function required(entry: StreamEntry, name: (typeof Field)[keyof typeof Field]): string {
  const value = text(entry, name);
  if (value === undefined) {
    throw new SwitchboardError("MALFORMED_ENTRY", `persist entry has no '${name}' field`, {
      field: name,
    });
  }
  return value;
}

function planRouted(context: StageContext, entry: StreamEntry): Write {
  const { keys, pipeline: definition } = context;
  const messageId = required(entry, Field.messageId);
  const threadId = required(entry, Field.threadId);
  const seq = Number(required(entry, Field.seq));
  const recipients = JSON.parse(required(entry, Field.recipients)) as string[];
  const key = keys.message(messageId);
  const ttl = definition.history.retentionMs;
  const note = text(entry, Field.note);
  const at = event(context, note === undefined ? {} : { note });
  const fields: string[] = [
    RecordField.seq,
    String(seq),
    RecordField.message("routed"),
    at,
    ...recipients.flatMap((agent) => [RecordField.recipient(agent, "queued"), at]),
  ];
  return function writeRouted(batch) {
    // The record's lifetime was set when the front end stored the envelope.
    batch.hset(key, ...fields);
    // The first message of a thread made for it is found by its id: no index entry needed.
    if (seq > 0 && !(seq === 1 && threadId === messageId)) {
      const thread = keys.thread(threadId);
      batch.zadd(thread, seq, messageId).pexpire(thread, ttl);
    }
  };
}

function planStatus(
  context: StageContext,
  entry: StreamEntry,
  envelopes: ReadonlyMap<string, Envelope>,
): Planned {
  const messageId = required(entry, Field.messageId);
  const status = required(entry, Field.status);
  const recipient = text(entry, Field.recipient);
  const known =
    recipient === undefined
      ? Object.hasOwn(MESSAGE_STATUS_RANK, status)
      : Object.hasOwn(RECIPIENT_STATUS_RANK, status);
  if (!known)
    throw new SwitchboardError("MALFORMED_ENTRY", `unknown status '${status}'`, { field: "s" });
  const extra: Omit<StatusEvent, "at"> = {};
  const stage = text(entry, Field.stage);
  const why = text(entry, Field.error);
  const inboxId = text(entry, Field.inboxId);
  const via = text(entry, Field.via);
  const retry = text(entry, Field.retry);
  if (stage !== undefined) extra.stage = stage;
  if (why !== undefined) extra.error = JSON.parse(why) as ErrorInfo;
  if (inboxId !== undefined) extra.inbox_id = inboxId;
  if (via === "inbox" || via === "webhook") extra.via = via;
  if (retry !== undefined) extra.retry = JSON.parse(retry) as RetryState;
  const notice = noticeFor(context, envelopes.get(messageId), recipient, status, extra.error);
  const key = context.keys.message(messageId);
  const value = event(context, extra);
  if (recipient !== undefined) {
    const field = RecordField.recipient(recipient, status as RecipientStatus);
    return { write: (batch) => void batch.hset(key, field, value), notice };
  }
  // Refused before routing. A producer that bypassed the front end left no record: keep
  // what can be read of the envelope it carried, for the sender to see.
  const carried = entry.fields.get(Field.envelope);
  const ttl = context.pipeline.history.retentionMs;
  const write: Write = function writeRefused(batch) {
    batch.hset(key, RecordField.message(status as MessageStatus), value);
    if (carried !== undefined) {
      batch
        .hsetnx(key, RecordField.encoding, text(entry, Field.encoding) ?? "json")
        .hsetnx(key, RecordField.envelope, carried);
    }
    batch.pexpire(key, ttl);
  };
  return { write, notice };
}
