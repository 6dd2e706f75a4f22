import type { Redis } from "ioredis";
import type { Envelope } from "../../protocol/envelope.js";
import type { ErrorInfo } from "../../protocol/errors.js";
import type { MessageStatus, RecipientStatus } from "../../protocol/status.js";
import type { Keys } from "../../redis/keys.js";

/**
 * A message record is one hash:
 * - `env`: the envelope as JSON;
 * - `status`: the message's own status, a {@link StatusEntry} as JSON;
 * - `r:<agent>`: one recipient's status, a {@link StatusEntry} as JSON.
 */
export const RecordField = {
  envelope: "env",
  status: "status",
  recipient: (agent: string) => `r:${agent}`,
} as const;

export interface StatusEntry<S extends string = string> {
  status: S;
  rank: number;
  /** When persist recorded it, ISO 8601. */
  at: string;
  stage?: string;
  error?: ErrorInfo;
  inbox_id?: string;
}

export interface MessageRecord {
  message_id: string;
  envelope: Envelope | undefined;
  status: StatusEntry<MessageStatus> | undefined;
  recipients: Record<string, StatusEntry<RecipientStatus>>;
}

/** Reads a message record; `undefined` when persist has not written one (yet). */
export async function readMessageRecord(
  redis: Redis,
  keys: Keys,
  messageId: string,
): Promise<MessageRecord | undefined> {
  const hash = await redis.hgetall(keys.message(messageId));
  if (Object.keys(hash).length === 0) return undefined;
  const record: MessageRecord = {
    message_id: messageId,
    envelope: undefined,
    status: undefined,
    recipients: {},
  };
  for (const [field, value] of Object.entries(hash)) {
    if (field === RecordField.envelope) record.envelope = JSON.parse(value) as Envelope;
    else if (field === RecordField.status)
      record.status = JSON.parse(value) as StatusEntry<MessageStatus>;
    else if (field.startsWith("r:")) {
      record.recipients[field.slice(2)] = JSON.parse(value) as StatusEntry<RecipientStatus>;
    }
  }
  return record;
}

/** The message ids of a thread in sequence order, with their sequence numbers. */
export async function readThreadIndex(
  redis: Redis,
  keys: Keys,
  threadId: string,
): Promise<{ message_id: string; seq: number }[]> {
  const flat = await redis.zrange(keys.thread(threadId), 0, -1, "WITHSCORES");
  const out: { message_id: string; seq: number }[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2)
    out.push({ message_id: flat[i]!, seq: Number(flat[i + 1]) });
  return out;
}
