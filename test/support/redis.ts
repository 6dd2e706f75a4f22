import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { inject } from "vitest";

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

/** Removes every key under `${prefix}:`; for `afterAll` cleanup. */
export async function deleteByPrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = "0";
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== "0");
  return deleted;
}
