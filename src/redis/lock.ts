import { randomBytes } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import type { Redis } from "ioredis";

/**
 * How long a lock lives unless released: a holder killed mid-way holds it this long.
 * @defaultValue 10 000 ms
 */
export const LOCK_TTL_MS = 10_000;
/** How often a waiter tries again. @defaultValue 50 ms */
const LOCK_RETRY_MS = 50;

/**
 * Runs `work` while holding `key` (`SET NX PX`), waiting for it as long as another holds
 * it. The lock expires after `ttlMs`, so a holder that died cannot hold it forever; `work`
 * must end well within that.
 */
export async function withLock<T>(
  redis: Redis,
  key: string,
  work: () => Promise<T>,
  ttlMs = LOCK_TTL_MS,
): Promise<T> {
  const owner = `${process.pid}:${randomBytes(8).toString("hex")}`;
  while ((await redis.set(key, owner, "PX", ttlMs, "NX")) !== "OK") {
    await delay(LOCK_RETRY_MS);
  }
  try {
    return await work();
  } finally {
    await redis.sbUnlock(1, key, owner);
  }
}
