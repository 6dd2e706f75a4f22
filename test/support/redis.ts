import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { inject } from "vitest";
import { serversOf, type RedisClient } from "../../src/redis/client.js";

/** The URL of the Redis provisioned by the global setup. */
export function redisUrl(): string {
  return inject("redisUrl");
}

/** A short key prefix unique to one test file or test, so tests can share one Redis. */
export function testPrefix(): string {
  return `t${randomUUID().slice(0, 8)}`;
}

/** A connected client for the test Redis; the caller quits it. */
export async function connect(): Promise<Redis> {
  const redis = new Redis(redisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  return redis;
}

/**
 * Removes every key under `${prefix}:`; for `afterAll` cleanup. Scans each master of a
 * cluster, and unlinks key by key there (a command's keys must share a slot).
 */
export async function deleteByPrefix(redis: RedisClient, prefix: string): Promise<number> {
  let deleted = 0;
  for (const server of serversOf(redis)) {
    let cursor = "0";
    do {
      const [next, keys] = await server.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500);
      cursor = next;
      const counts = await Promise.all(keys.map((key) => server.unlink(key)));
      deleted += counts.reduce((sum, count) => sum + count, 0);
    } while (cursor !== "0");
  }
  return deleted;
}
