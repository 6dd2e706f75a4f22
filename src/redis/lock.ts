import { randomBytes } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import type { RedisClient } from "./client.js";
import { lua, Script } from "./script.js";

/**
 * How long a lock lives unless released: a holder killed mid-way holds it this long.
 * @defaultValue 10 000 ms
 */
export const LOCK_TTL_MS = 10_000;
/** How often a waiter tries again. @defaultValue 50 ms */
const LOCK_RETRY_MS = 50;

/**
 * Releases a lock taken with `SET key owner NX PX ttl`, only if this owner still holds it
 * (it may have expired and been taken by another).
 *
 * KEYS[1]     the lock
 * ARGV[1]     the owner's id
 * returns     1 released, 0 not held by this owner
 */
export const unlockScript = new Script<{ lock: string; owner: string }, 0 | 1>(
  "sbUnlock",
  lua`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`,
  (p) => ({ keys: [p.lock], args: [p.owner] }),
);

/**
 * Runs `work` while holding `key` (`SET NX PX`), waiting for it as long as another holds
 * it. The lock expires after `ttlMs`, so a holder that died cannot hold it forever; `work`
 * must end well within that.
 */
export async function withLock<T>(
  redis: RedisClient,
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
    await unlockScript.run(redis, { lock: key, owner });
  }
}
