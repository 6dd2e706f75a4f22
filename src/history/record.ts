import { sendCommands } from "../redis/batch.js";
import type { RedisClient } from "../redis/client.js";
import { decodeEnvelope } from "../protocol/codec.js";
import type { CodecLimits } from "../protocol/codec.js";
import type { Envelope } from "../protocol/envelope.js";
import type { ErrorInfo } from "../protocol/errors.js";
import {
  MESSAGE_STATUS_RANK,
  RECIPIENT_STATUS_RANK,
  type MessageStatus,
  type RecipientStatus,
} from "../protocol/status.js";
import type { Keys } from "../redis/keys.js";

/**
 * A message record is one hash. Every status is a field of its own, written once and
 * never overwritten, so events that arrive late, twice or out of order need no
 * read-modify-write: the current status is the one of highest rank.
 * - `enc`, `env`: the envelope as accepted, written once by the front end: stream entries
 *   carry only the message id (a claim check), so a message's body is stored once;
 * - `seq`: its place in its thread, from validate (the stored envelope has none);
 * - `s:<status>`: a status of the message itself (routed, rejected, …), a {@link StatusEvent};
 * - `r:<agent>:<status>`: a status of one recipient (queued, delivered, …).
 */
export const RecordField = {
  encoding: "enc",
  envelope: "env",
  seq: "seq",
  message: (status: MessageStatus) => `s:${status}`,
  recipient: (agent: string, status: RecipientStatus) => `r:${agent}:${status}`,
} as const;

/** Where a retry stands (a `retrying` status). */
export interface RetryState {
  /** The attempt that comes next, counting the first try as 1. */
  attempt: number;
  max_attempts: number;
  /** When it is due, ISO 8601. */
  next_at: string;
  /** Set while a webhook endpoint's circuit breaker holds it back. */
  breaker?: "open" | "half_open";
}

/** What persist stores for one status. */
export interface StatusEvent {
  /** When persist recorded it, ISO 8601. */
  at: string;
  stage?: string;
  error?: ErrorInfo;
  inbox_id?: string;
  /** How it was delivered: into the inbox, or POSTed to the agent's webhook. */
  via?: "inbox" | "webhook";
  /** Routed to no one, and why: Switchboard's own message to a topic nobody subscribes to. */
  note?: string;
  retry?: RetryState;
}

export interface StatusState<S extends string> extends StatusEvent {
  status: S;
  /** The status in words, such as "retrying, attempt 3 of 8, next at …". */
  summary: string;
  /** Every status reached, in rank order, with when. */
  history: { status: S; at: string }[];
}

export interface MessageRecord {
  message_id: string;
  envelope: Envelope | undefined;
  status: StatusState<MessageStatus> | undefined;
  /** By agent name; a null-prototype object, so look names up with `Object.hasOwn`. */
  recipients: Record<string, StatusState<RecipientStatus>>;
}

/** Reads a message record; `undefined` when persist has not written one (yet). */
export async function readMessageRecord(
  redis: RedisClient,
  keys: Keys,
  messageId: string,
  limits?: CodecLimits,
): Promise<MessageRecord | undefined> {
  const hash = await redis.hgetallBuffer(keys.message(messageId));
  if (Object.keys(hash).length === 0) return undefined;
  const message = new Map<MessageStatus, StatusEvent>();
  const recipients = new Map<string, Map<RecipientStatus, StatusEvent>>();
  for (const [field, value] of Object.entries(hash)) {
    if (field.startsWith("s:")) {
      message.set(field.slice(2) as MessageStatus, JSON.parse(value.toString()) as StatusEvent);
    } else if (field.startsWith("r:")) {
      const cut = field.lastIndexOf(":");
      const agent = field.slice(2, cut);
      const events = recipients.get(agent) ?? new Map<RecipientStatus, StatusEvent>();
      events.set(
        field.slice(cut + 1) as RecipientStatus,
        JSON.parse(value.toString()) as StatusEvent,
      );
      recipients.set(agent, events);
    }
  }
  return {
    message_id: messageId,
    envelope: readEnvelope(hash, limits),
    status: current(message, MESSAGE_STATUS_RANK),
    recipients: byAgent(
      [...recipients].map(([agent, events]) => [agent, current(events, RECIPIENT_STATUS_RANK)!]),
    ),
  };
}

/**
 * Agent name → value as a null-prototype object: it serializes as a plain JSON object, and
 * no name (`constructor`, `toString`, `__proto__`) finds anything it was not given.
 */
function byAgent<V>(entries: Iterable<readonly [string, V]>): Record<string, V> {
  const out = Object.create(null) as Record<string, V>;
  for (const [agent, value] of entries) out[agent] = value;
  return out;
}

function readEnvelope(hash: Record<string, Buffer>, limits?: CodecLimits): Envelope | undefined {
  const data = hash[RecordField.envelope];
  if (data === undefined) return undefined;
  const stored = {
    enc: hash[RecordField.encoding]?.toString() ?? "json",
    data,
    seq: hash[RecordField.seq],
  };
  try {
    return decodeStored(stored, limits);
  } catch {
    return undefined; // a refused message may hold an envelope that never was valid
  }
}

/** A message's envelope as stored in its record, and its place in its thread. */
export interface StoredEnvelope {
  enc: string;
  data: Buffer;
  seq: Buffer | null | undefined;
}

/** Reads the stored envelopes of messages in one round trip; undefined where there is none. */
export async function readStoredEnvelopes(
  redis: RedisClient,
  keys: Keys,
  messageIds: readonly string[],
): Promise<(StoredEnvelope | undefined)[]> {
  if (messageIds.length === 0) return [];
  const replies = await sendCommands(redis, (batch) => {
    for (const id of messageIds) {
      batch.hmgetBuffer(
        keys.message(id),
        RecordField.encoding,
        RecordField.envelope,
        RecordField.seq,
      );
    }
  });
  return replies.map(([error, reply]) => {
    if (error) throw error;
    const [enc, data, seq] = reply as (Buffer | null)[];
    return data === null || data === undefined
      ? undefined
      : { enc: enc?.toString() ?? "json", data, seq };
  });
}

/** Decodes a stored envelope (checking it against the schema), with its sequence number. */
export function decodeStored(stored: StoredEnvelope, limits?: CodecLimits): Envelope {
  const envelope = decodeEnvelope(stored.enc, stored.data, limits);
  if (stored.seq !== null && stored.seq !== undefined && envelope.seq === undefined) {
    envelope.seq = Number(stored.seq.toString());
  }
  return envelope;
}

/** The status of highest rank (the latest among equals), with the way there. */
function current<S extends string>(
  events: Map<S, StatusEvent>,
  ranks: Readonly<Record<S, number>>,
): StatusState<S> | undefined {
  const ordered = [...events].sort(
    ([a, x], [b, y]) => ranks[a] - ranks[b] || x.at.localeCompare(y.at),
  );
  // A replayed dead letter starts anew: what happened before the replay no longer counts.
  const replayedAt = events.get("replayed" as S)?.at;
  const last = ordered.filter(([, e]) => replayedAt === undefined || e.at >= replayedAt).at(-1);
  if (last === undefined) return undefined;
  return {
    status: last[0],
    ...last[1],
    summary: summaryOf(last[0], last[1]),
    history: ordered.map(([status, event]) => ({ status, at: event.at })),
  };
}

function summaryOf(status: string, event: StatusEvent): string {
  const { retry, error } = event;
  if (retry !== undefined) {
    const breaker =
      retry.breaker === undefined
        ? ""
        : ` (endpoint's circuit breaker ${retry.breaker.replace("_", "-")})`;
    return `retrying, attempt ${retry.attempt} of ${retry.max_attempts}, next at ${retry.next_at}${breaker}; last error ${error?.code ?? "unknown"}`;
  }
  const words = status.replace("_", " ");
  if (error !== undefined) return `${words}: ${error.code}: ${error.message}`;
  if (event.note !== undefined) return `${words} ${event.note}`;
  return event.via === undefined ? words : `${words} (${event.via})`;
}

/** The message ids of a thread in sequence order, with their sequence numbers. */
export async function readThreadIndex(
  redis: RedisClient,
  keys: Keys,
  threadId: string,
): Promise<{ message_id: string; seq: number }[]> {
  const flat = await redis.zrange(keys.thread(threadId), 0, -1, "WITHSCORES");
  return withScores(flat).map(([message_id, seq]) => ({ message_id, seq }));
}

/** A sorted-set reply `WITHSCORES` (member, score, member, score, …) as pairs. */
export function withScores(flat: readonly string[]): [member: string, score: number][] {
  const pairs: [string, number][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([flat[i]!, Number(flat[i + 1])]);
  return pairs;
}
