import type { CodecLimits } from "../protocol/codec.js";
import { UUID_V7_PATTERN } from "../protocol/ids.js";
import { sendBatch } from "../redis/batch.js";
import type { RedisClient } from "../redis/client.js";
import { ConsoleKeys } from "../redis/console-keys.js";
import type { Keys } from "../redis/keys.js";
import { readMessageRecord, withScores, type MessageRecord } from "./record.js";

/** A thread as the console lists it. */
export interface ThreadSummary {
  thread_id: string;
  /** The first message's subject (else the latest's); null when neither has one. */
  subject: string | null;
  last_seq: number;
  /** When its latest message was routed, ISO 8601. */
  last_at: string;
  /** Senders and recipients of its first and latest messages, by name. */
  participants: string[];
  /** Messages in its index (and the first, which a thread made for it does not index). */
  messages: number;
}

/**
 * The threads with the latest activity, newest first: persist moves a thread up the
 * `{threads}:recent` set with every message it routes (one ZADD a batch, trimmed). Each
 * is summed up from its index and its first and latest records: a few reads a thread,
 * whatever its length.
 */
export async function recentThreads(
  redis: RedisClient,
  keys: Keys,
  limits: CodecLimits,
  limit: number,
): Promise<ThreadSummary[]> {
  const flat = await redis.zrevrange(
    new ConsoleKeys(keys).recentThreads(),
    0,
    limit - 1,
    "WITHSCORES",
  );
  const threads = withScores(flat).map(([id, at]) => ({ id, at }));
  const indexes = await sendBatch(redis, threads, (batch, { id }) => {
    const index = keys.thread(id);
    batch.zcard(index).zrange(index, 0, 0).zrange(index, -1, -1, "WITHSCORES");
  });
  const read = (id: string | undefined): Promise<MessageRecord | undefined> =>
    id === undefined ? Promise.resolve(undefined) : readMessageRecord(redis, keys, id, limits);
  return Promise.all(
    threads.map(async ({ id, at }, t) => {
      const index = indexes[t]!;
      if (!index.ok) throw index.error;
      const [indexed, [firstIndexed], [lastId, lastSeq]] = index.replies as [
        number,
        string[],
        string[],
      ];
      const implicit = UUID_V7_PATTERN.test(id) && firstIndexed !== id;
      const [first, last] = await Promise.all([read(implicit ? id : firstIndexed), read(lastId)]);
      const participants = new Set<string>();
      for (const record of [first, last]) {
        if (record?.envelope !== undefined) participants.add(record.envelope.from);
        for (const name of Object.keys(record?.recipients ?? {})) participants.add(name);
      }
      return {
        thread_id: id,
        subject: first?.envelope?.subject ?? last?.envelope?.subject ?? null,
        last_seq: lastSeq === undefined ? 1 : Number(lastSeq),
        last_at: new Date(at).toISOString(),
        participants: [...participants].sort(),
        messages: indexed + (implicit ? 1 : 0),
      };
    }),
  );
}
