import type { RedisClient } from "./client.js";
import { readGroups } from "./info.js";
import { compareStreamIds, minStreamId, nextStreamId } from "./stream-ids.js";

/**
 * Trims entries older than `maxAgeMs` that every consumer group has acknowledged. The
 * floor is the oldest entry some group still needs (pending, or not yet handed out), so
 * nothing unacknowledged is ever trimmed. Redis 7.0 has no trim mode that respects groups.
 * Approximate (`~`): whole radix-tree nodes go, so a little more may stay, never less.
 * Returns the number of entries trimmed.
 */
export async function trimAcknowledged(
  redis: RedisClient,
  stream: string,
  maxAgeMs: number,
  now = Date.now(),
): Promise<number> {
  const floor = await oldestNeeded(redis, stream);
  const cutoff = `${now - maxAgeMs}-0`;
  const minId = floor === undefined || compareStreamIds(cutoff, floor) < 0 ? cutoff : floor;
  return redis.xtrim(stream, "MINID", "~", minId);
}

/** The oldest entry of a stream that some group still needs, if any group does. */
async function oldestNeeded(redis: RedisClient, stream: string): Promise<string | undefined> {
  const groups = await readGroups(redis, stream);
  const needed: string[] = [];
  for (const group of groups) {
    if (group.pending > 0) {
      const summary = (await redis.xpending(stream, group.name)) as [number, string | null];
      if (summary[1] !== null) needed.push(summary[1]);
    } else {
      needed.push(nextStreamId(group.lastDeliveredId));
    }
  }
  return minStreamId(needed);
}
