import { decodeEnvelope, decodeJson } from "../../protocol/codec.js";
import type { ErrorInfo } from "../../protocol/errors.js";
import { SwitchboardError, toErrorInfo } from "../../protocol/errors.js";
import { MESSAGE_STATUS_RANK, RECIPIENT_STATUS_RANK } from "../../protocol/status.js";
import { Field, text, type StreamEntry } from "../../pipeline/entry.js";
import { DONE, type Outcome, type StageContext, type StageFactory } from "../../pipeline/stage.js";
import { RecordField, type StatusEntry } from "./record.js";

/**
 * persist: the one writer of message history. Every outcome of every stage ends here:
 * a routed message gets its record and its place in the thread index; each status
 * (delivered, expired, rejected, undeliverable, dead-lettered) is recorded, by rank, so
 * late or repeated events never move a status back.
 */
export const persistStage: StageFactory = (context) => ({
  handle: (entries) => Promise.all(entries.map((entry) => persistOne(context, entry))),
});

async function persistOne(context: StageContext, entry: StreamEntry): Promise<Outcome> {
  try {
    const kind = text(entry, Field.kind);
    if (kind === "routed") await recordRouted(context, entry);
    else if (kind === "status") await recordStatus(context, entry);
    else
      throw new SwitchboardError(
        "MALFORMED_ENTRY",
        `persist cannot record an entry of kind '${kind}'`,
        { field: "t" },
      );
    return DONE;
  } catch (error) {
    const info = toErrorInfo(error);
    if (info.code === "INTERNAL") return { kind: "retry", error: info };
    return { kind: "reject", status: "rejected", error: info };
  }
}

function statusValue(
  status: string,
  rank: number,
  context: StageContext,
  extra: Partial<StatusEntry>,
): string {
  return JSON.stringify({ status, rank, at: new Date(context.now()).toISOString(), ...extra });
}

async function recordRouted(context: StageContext, entry: StreamEntry): Promise<void> {
  const { redis, keys, pipeline } = context;
  const envelope = decodeEnvelope(
    text(entry, Field.encoding) ?? "json",
    entry.fields.get(Field.envelope) ?? Buffer.alloc(0),
    pipeline.limits,
  );
  const recipients = JSON.parse(text(entry, Field.recipients) ?? "[]") as string[];
  const key = keys.message(envelope.id);
  const ttl = pipeline.history.retentionMs;
  const writes: Promise<unknown>[] = [
    redis.hset(key, RecordField.envelope, JSON.stringify(envelope)),
    redis.sbRecordStatus(
      1,
      key,
      RecordField.status,
      MESSAGE_STATUS_RANK.routed,
      statusValue("routed", MESSAGE_STATUS_RANK.routed, context, {}),
      ttl,
    ),
    ...recipients.map((agent) =>
      redis.sbRecordStatus(
        1,
        key,
        RecordField.recipient(agent),
        RECIPIENT_STATUS_RANK.queued,
        statusValue("queued", RECIPIENT_STATUS_RANK.queued, context, {}),
        ttl,
      ),
    ),
  ];
  if (envelope.seq !== undefined) {
    const thread = keys.thread(envelope.thread_id);
    writes.push(redis.zadd(thread, envelope.seq, envelope.id), redis.pexpire(thread, ttl));
  }
  await Promise.all(writes);
}

async function recordStatus(context: StageContext, entry: StreamEntry): Promise<void> {
  const { redis, keys, pipeline } = context;
  const messageId = text(entry, Field.messageId);
  const status = text(entry, Field.status) ?? "";
  if (messageId === undefined) {
    throw new SwitchboardError("MALFORMED_ENTRY", "status entry has no message id", {
      field: "mid",
    });
  }
  const recipient = text(entry, Field.recipient);
  const rank =
    recipient === undefined
      ? MESSAGE_STATUS_RANK[status as keyof typeof MESSAGE_STATUS_RANK]
      : RECIPIENT_STATUS_RANK[status as keyof typeof RECIPIENT_STATUS_RANK];
  if (rank === undefined) {
    throw new SwitchboardError("MALFORMED_ENTRY", `unknown status '${status}'`, { field: "s" });
  }
  const extra: Partial<StatusEntry> = {};
  const stage = text(entry, Field.stage);
  const why = text(entry, Field.error);
  const inboxId = text(entry, Field.inboxId);
  if (stage !== undefined) extra.stage = stage;
  if (why !== undefined) extra.error = JSON.parse(why) as ErrorInfo;
  if (inboxId !== undefined) extra.inbox_id = inboxId;
  const key = keys.message(messageId);
  const field = recipient === undefined ? RecordField.status : RecordField.recipient(recipient);
  const ttl = pipeline.history.retentionMs;
  await redis.sbRecordStatus(1, key, field, rank, statusValue(status, rank, context, extra), ttl);
  if (recipient === undefined) await keepRefusedEnvelope(context, entry, key);
}

/** A message refused before routing keeps what could be read of it, for the sender to see. */
async function keepRefusedEnvelope(
  context: StageContext,
  entry: StreamEntry,
  key: string,
): Promise<void> {
  const data = entry.fields.get(Field.envelope);
  if (data === undefined) return;
  try {
    const value = decodeJson(text(entry, Field.encoding) ?? "json", data, context.pipeline.limits);
    await context.redis.hsetnx(key, RecordField.envelope, JSON.stringify(value));
  } catch {
    // unreadable: the status and its reason are what the sender gets
  }
}
