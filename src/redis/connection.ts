import { Redis, type RedisOptions } from "ioredis";
import { serversOf, type RedisClient } from "./client.js";

/** Reconnect backoff: exponential from 50 ms, capped at 2 s, with full jitter. */
export function reconnectDelay(attempt: number): number {
  const ceiling = Math.min(2000, 50 * 2 ** Math.min(attempt, 10));
  return Math.floor(Math.random() * ceiling) + 10;
}

export type ConnectionRole = "command" | "reader" | "producer" | "admin";

/**
 * Opens a connection for one role:
 * - `command`: the shared connection of a process; commands issued together are sent
 *   together (ioredis auto-pipelining), and they queue while reconnecting;
 * - `reader`: a connection of its own for blocking `XREADGROUP` (a blocked connection serves
 *   nothing else);
 * - `producer`: BullMQ's producers; a command fails at once while Redis is away (the
 *   stage then leaves its entry pending rather than hang), and it reconnects for ever;
 * - `admin`: short-lived CLI work that should fail fast when Redis is away.
 */
export function connectRedis(url: string, role: ConnectionRole, name?: string): Redis {
  return new Redis(url, redisOptionsFor(role, name));
}

/** The options of a connection for `role` (see {@link connectRedis}). */
export function redisOptionsFor(role: ConnectionRole, name?: string): RedisOptions {
  return {
    lazyConnect: false,
    connectionName: name,
    retryStrategy: reconnectDelay,
    enableAutoPipelining: role === "command",
    maxRetriesPerRequest: role === "admin" || role === "producer" ? 1 : null,
    enableOfflineQueue: role !== "producer",
  };
}

/**
 * Warns when Redis may evict keys: an evicted stream entry, inbox or retry job is a lost
 * message, so Switchboard wants `maxmemory-policy noeviction` (writes fail loudly when
 * memory is full instead). Managed Redis services may refuse CONFIG GET: then the policy
 * cannot be checked, which is said once at debug level. Each master of a cluster is asked.
 */
export async function checkEvictionPolicy(
  redis: RedisClient,
  warn: (message: string, fields: Record<string, unknown>) => void,
  debug: (message: string, fields: Record<string, unknown>) => void,
): Promise<void> {
  try {
    for (const server of serversOf(redis)) {
      const [, policy] = (await server.config("GET", "maxmemory-policy")) as [string, string];
      if (policy !== undefined && policy !== "noeviction") {
        warn(
          "Redis may evict keys under memory pressure, which would lose messages and retries; set `maxmemory-policy noeviction` (redis-cli CONFIG SET maxmemory-policy noeviction, and in redis.conf)",
          { maxmemory_policy: policy, server: `${server.options.host}:${server.options.port}` },
        );
        return;
      }
    }
  } catch (error) {
    debug("could not check Redis's maxmemory-policy", { error: (error as Error).message });
  }
}

/** One PING on a connection of its own, that gives up after `timeoutMs`; rejects with why. */
export async function pingUrl(url: string, timeoutMs: number): Promise<void> {
  const client = await probeConnection(url, timeoutMs);
  try {
    await client.ping();
  } finally {
    client.disconnect();
  }
}

/**
 * A connected connection of its own to `where` (a URL, or a host and port), for a few
 * checks: it never retries, and connecting or a command gives up after `timeoutMs`.
 * Rejects with why it could not connect; the caller disconnects it.
 */
export async function probeConnection(
  where: string | RedisOptions,
  timeoutMs: number,
): Promise<Redis> {
  const options: RedisOptions = {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    enableOfflineQueue: false,
  };
  const client =
    typeof where === "string" ? new Redis(where, options) : new Redis({ ...options, ...where });
  // Reported through the rejected promise instead: the socket's error (connect
  // ECONNREFUSED …) rather than ioredis's "Connection is closed." that follows it.
  let cause: Error | undefined;
  client.on("error", (error: Error) => (cause ??= error));
  try {
    await client.connect();
    return client;
  } catch (error) {
    client.disconnect();
    throw cause ?? error;
  }
}

/** Whether a Redis answers PING at `url` within `timeoutMs`. */
export async function answersPing(url: string, timeoutMs: number): Promise<boolean> {
  try {
    await pingUrl(url, timeoutMs);
    return true;
  } catch {
    return false;
  }
}
