import { Redis, type RedisOptions } from "ioredis";

/** Reconnect backoff: exponential from 50 ms, capped at 2 s, with full jitter. */
export function reconnectDelay(attempt: number): number {
  const ceiling = Math.min(2000, 50 * 2 ** Math.min(attempt, 10));
  return Math.floor(Math.random() * ceiling) + 10;
}

export type ConnectionRole = "command" | "reader" | "admin";

/**
 * Opens a connection for one role:
 * - `command`: the shared connection of a process, auto-pipelined, commands queue while
 *   reconnecting;
 * - `reader`: a connection of its own for blocking `XREADGROUP` (a blocked connection serves
 *   nothing else);
 * - `admin`: short-lived CLI work that should fail fast when Redis is away.
 */
export function connectRedis(url: string, role: ConnectionRole, name?: string): Redis {
  const options: RedisOptions = {
    lazyConnect: false,
    connectionName: name,
    retryStrategy: reconnectDelay,
    enableAutoPipelining: role === "command",
    maxRetriesPerRequest: role === "admin" ? 1 : null,
    enableOfflineQueue: true,
  };
  return new Redis(url, options);
}

/**
 * Warns when Redis may evict keys: an evicted stream entry, inbox or retry job is a lost
 * message, so Switchboard wants `maxmemory-policy noeviction` (writes fail loudly when
 * memory is full instead). Managed Redis services may refuse CONFIG GET: then the policy
 * cannot be checked, which is said once at debug level.
 */
export async function checkEvictionPolicy(
  redis: Redis,
  warn: (message: string, fields: Record<string, unknown>) => void,
  debug: (message: string, fields: Record<string, unknown>) => void,
): Promise<void> {
  try {
    const [, policy] = (await redis.config("GET", "maxmemory-policy")) as [string, string];
    if (policy !== undefined && policy !== "noeviction") {
      warn(
        "Redis may evict keys under memory pressure, which would lose messages and retries; set `maxmemory-policy noeviction` (redis-cli CONFIG SET maxmemory-policy noeviction, and in redis.conf)",
        { maxmemory_policy: policy },
      );
    }
  } catch (error) {
    debug("could not check Redis's maxmemory-policy", { error: (error as Error).message });
  }
}
