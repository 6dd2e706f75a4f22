import type { ChainableCommander, Redis } from "ioredis";

/** What one item's commands answered: their replies, or the first error among them. */
export type ItemReplies = { ok: true; replies: unknown[] } | { ok: false; error: Error };

/**
 * Sends the commands of a whole batch in one round trip. `queue` adds one item's commands
 * to the batch; the replies come back grouped per item, in order.
 *
 * Stage handlers use this rather than a promise per command: it costs far less CPU per
 * entry. (On a Redis Cluster, commands for keys on several nodes will need one batch
 * per node; this function is the one place to change.)
 */
export async function sendBatch<T>(
  redis: Redis,
  items: readonly T[],
  queue: (batch: ChainableCommander, item: T) => void,
): Promise<ItemReplies[]> {
  const batch = redis.pipeline();
  const counts = items.map((item) => {
    const before = batch.length;
    queue(batch, item);
    return batch.length - before;
  });
  const replies = batch.length === 0 ? [] : ((await batch.exec()) ?? []);
  let at = 0;
  return counts.map((count) => {
    const mine = replies.slice(at, at + count);
    at += count;
    const failed = mine.find(([error]) => error !== null);
    return failed === undefined
      ? { ok: true, replies: mine.map(([, reply]) => reply) }
      : { ok: false, error: failed[0]! };
  });
}
