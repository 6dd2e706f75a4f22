import { existsSync } from "node:fs";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { provisionTestRedis, type TestRedis } from "../support/test-redis.js";

/** With `env: {}` a Docker engine is only used when its default socket exists. */
const expectedSource = existsSync("/var/run/docker.sock") ? "container" : "spawned";

async function answersPing(url: string): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 500,
  });
  client.on("error", () => {});
  try {
    await client.connect();
    return (await client.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

async function serverPid(url: string): Promise<number> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await client.connect();
    const info = await client.info("server");
    return Number(/^process_id:(\d+)/m.exec(info)?.[1]);
  } finally {
    client.disconnect();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("provisionTestRedis", () => {
  let own: TestRedis;
  const lines: string[] = [];

  beforeAll(async () => {
    own = await provisionTestRedis({ env: {}, log: (line) => lines.push(line) });
  });

  afterAll(async () => {
    await own.stop();
  });

  it("starts its own Redis, not the one on 6379, and says so", async () => {
    expect(own.source).toBe(expectedSource);
    expect(new URL(own.url).port).not.toBe("6379");
    expect(await answersPing(own.url)).toBe(true);
    expect(lines).toEqual([expect.stringContaining(`redis: using ${own.url}`)]);
  });

  it("uses REDIS_URL when it answers, and its stop() leaves that Redis running", async () => {
    const fromEnv = await provisionTestRedis({ env: { REDIS_URL: own.url }, log: () => {} });
    expect(fromEnv).toMatchObject({ url: own.url, source: "env" });
    await fromEnv.stop();
    expect(await answersPing(own.url)).toBe(true);
  });

  it("rejects a REDIS_URL that does not answer, naming it", async () => {
    const attempt = provisionTestRedis({
      env: { REDIS_URL: "redis://127.0.0.1:1" },
      log: () => {},
    });
    await expect(attempt).rejects.toMatchObject({
      code: "REDIS_UNAVAILABLE",
      message: expect.stringContaining("REDIS_URL=redis://127.0.0.1:1 does not answer") as string,
    });
  });
});

describe("provisionTestRedis stop()", () => {
  it.runIf(expectedSource === "spawned")(
    "stops the spawned server and frees its port",
    async () => {
      const redis = await provisionTestRedis({ env: {}, log: () => {} });
      const pid = await serverPid(redis.url);
      expect(isAlive(pid)).toBe(true);

      await redis.stop();

      expect(isAlive(pid)).toBe(false);
      expect(await answersPing(redis.url)).toBe(false);
      await redis.stop(); // idempotent
    },
  );
});
