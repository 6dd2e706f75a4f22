import type { ChainableCommander } from "ioredis";
import { decodeJson } from "../../protocol/codec.js";
import type { ErrorInfo } from "../../protocol/errors.js";
import { SwitchboardError, toErrorInfo } from "../../protocol/errors.js";
import {
  MESSAGE_STATUS_RANK,
  RECIPIENT_STATUS_RANK,
  type MessageStatus,
  type RecipientStatus,
} from "../../protocol/status.js";
import { pipelined } from "../../redis/batch.js";
import { Field, text, type Output, type StreamEntry } from "../../pipeline/entry.js";
import { DONE, type Outcome, type StageContext, type StageFactory } from "../../pipeline/stage.js";
import { noticeFor } from "./notice.js";
import { RecordField, type StatusEvent } from "../../history/record.js";

/**
 * persist: the one writer of message history. Every outcome of every stage ends here:
 * a routed message gets its record and its place in the thread index; each later status
 * (delivered, expired, rejected, undeliverable, dead-lettered) is one more field of the
 * record. Records and indexes live `history.retentionMs` from routing (or refusal).
 */
export const persistStage: StageFactory = (context) => ({
  async handle(entries) {
    const planned = entries.map((entry) => plan(context, entry));
    const writes = planned.filter((p): p is Planned => "write" in p);
    const replies = await pipelined(context.redis, writes, (pipeline, p) => p.write(pipeline));
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
type Write = (pipeline: ChainableCommander) => void;

/** An entry's writes, and the notice its sender gets, if any. */
interface Planned {
  write: Write;
  notice?: Output | undefined;
}

/** The writes for an entry, or the outcome that refuses it. */
function plan(context: StageContext, entry: StreamEntry): Planned | Outcome {
  try {
    const kind = text(entry, Field.kind);
    if (kind === "routed") return { write: planRouted(context, entry) };
    if (kind === "status") return planStatus(context, entry);
    throw new SwitchboardError(
      "MALFORMED_ENTRY",
      `persist cannot record an entry of kind '${kind}'`,
      {
        field: "t",
      },
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
  const envelope = entry.fields.get(Field.envelope) ?? Buffer.alloc(0);
  const key = keys.message(messageId);
  const ttl = definition.history.retentionMs;
  const at = event(context);
  const fields: (string | Buffer)[] = [
    RecordField.encoding,
    text(entry, Field.encoding) ?? "json",
    RecordField.envelope,
    envelope,
    RecordField.message("routed"),
    at,
    ...recipients.flatMap((agent) => [RecordField.recipient(agent, "queued"), at]),
  ];
  return function writeRouted(pipeline) {
    pipeline.hset(key, ...fields).pexpire(key, ttl);
    // The first message of a thread made for it is found by its id: no index entry needed.
    if (seq > 0 && !(seq === 1 && threadId === messageId)) {
      const thread = keys.thread(threadId);
      pipeline.zadd(thread, seq, messageId).pexpire(thread, ttl);
    }
  };
}

function planStatus(context: StageContext, entry: StreamEntry): Planned {
  const messageId = required(entry, Field.messageId);
  const status = required(entry, Field.status);
  const recipient = text(entry, Field.recipient);
  const known =
    recipient === undefined ? status in MESSAGE_STATUS_RANK : status in RECIPIENT_STATUS_RANK;
  if (!known)
    throw new SwitchboardError("MALFORMED_ENTRY", `unknown status '${status}'`, { field: "s" });
  const extra: Omit<StatusEvent, "at"> = {};
  const stage = text(entry, Field.stage);
  const why = text(entry, Field.error);
  const inboxId = text(entry, Field.inboxId);
  if (stage !== undefined) extra.stage = stage;
  if (why !== undefined) extra.error = JSON.parse(why) as ErrorInfo;
  const notice = noticeFor(context, entry, status, extra.error);
  if (inboxId !== undefined) extra.inbox_id = inboxId;
  const key = context.keys.message(messageId);
  const value = event(context, extra);
  if (recipient !== undefined) {
    const field = RecordField.recipient(recipient, status as RecipientStatus);
    return { write: (pipeline) => void pipeline.hset(key, field, value), notice };
  }
  // Refused before routing: no record exists yet; keep what can be read of the envelope.
  const readable = readableEnvelope(context, entry);
  const ttl = context.pipeline.history.retentionMs;
  const write: Write = function writeRefused(pipeline) {
    pipeline.hset(key, RecordField.message(status as MessageStatus), value);
    if (readable !== undefined) {
      pipeline
        .hsetnx(key, RecordField.encoding, "json")
        .hsetnx(key, RecordField.envelope, readable);
    }
    pipeline.pexpire(key, ttl);
  };
  return { write, notice };
}

/** The carried envelope as JSON text if it can be read at all. */
function readableEnvelope(context: StageContext, entry: StreamEntry): string | undefined {
  const data = entry.fields.get(Field.envelope);
  if (data === undefined) return undefined;
  try {
    return JSON.stringify(
      decodeJson(text(entry, Field.encoding) ?? "json", data, context.pipeline.limits),
    );
  } catch {
    return undefined;
  }
}
