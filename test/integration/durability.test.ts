import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Ingress } from "../../src/ingress/ingress.js";
import { composeEnvelope } from "../../src/protocol/compose.js";
import type { ToolInput } from "../../src/protocol/tools.js";
import { freePort, spawnRedisServer, type SpawnedRedis } from "../../src/redis/spawn.js";
import { Switchboard } from "../../src/service/switchboard.js";
import { silentLogger } from "../../src/telemetry/log.js";
import { eventually, fastPipeline, Harness } from "../support/harness.js";

/**
 * `durability: replicated` on a master and one replica of the test's own (spare ports,
 * nothing on disk): a send is accepted once the replica has it, refused with
 * NOT_REPLICATED while the replica is down; `local` never waits.
 */
const REPLICATED = fastPipeline({ durability: { mode: "replicated", timeoutMs: 200 } });
const LOCAL = fastPipeline();

let dir: string;
let master: SpawnedRedis;
let replica: SpawnedRedis | undefined;
let replicaPort: number;
let admin: Redis;

async function startReplica(): Promise<void> {
  replica = await spawnRedisServer({
    dir: join(dir, "replica"),
    persistent: false,
    tried: "the durability test",
    port: replicaPort,
    args: ["--replicaof", "127.0.0.1", String(master.port)],
  });
  await eventually(async () => {
    const info = await admin.info("replication");
    return /slave0:.*state=online/.test(info);
  });
}

async function stopReplica(): Promise<void> {
  await replica?.kill();
  replica = undefined;
}

/** How often the master has run WAIT. */
async function waitCalls(): Promise<number> {
  const stats = await admin.info("commandstats");
  return Number(/cmdstat_wait:calls=(\d+)/.exec(stats)?.[1] ?? 0);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "sb-durability-"));
  master = await spawnRedisServer({
    dir: join(dir, "master"),
    persistent: false,
    tried: "the durability test",
  });
  admin = new Redis(master.url);
  replicaPort = await freePort();
  await startReplica();
});

afterAll(async () => {
  admin?.disconnect();
  await replica?.stop();
  await master?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("durability: replicated", () => {
  it("accepts a send once the replica has it", async () => {
    const h = new Harness(REPLICATED, master.url);
    try {
      const before = await waitCalls();
      const id = await h.send({ from: "alice", to: ["bob"], body: { n: 1 } });
      expect(await waitCalls()).toBe(before + 1);
      const copy = new Redis(replica!.url);
      try {
        expect(await copy.hget(h.keys.message(id), "env")).not.toBeNull();
        expect(await copy.xlen(h.stream("validate"))).toBe(1);
      } finally {
        copy.disconnect();
      }
    } finally {
      await h.close();
    }
  });

  it("refuses a send the replica did not confirm, saying it may still be delivered", async () => {
    const h = new Harness(REPLICATED, master.url);
    await stopReplica();
    try {
      const envelope = composeEnvelope({ from: "alice", to: ["bob"], body: {} });
      const refused = await h.ingress.accept(envelope).catch((error: unknown) => error);
      expect(refused).toMatchObject({
        code: "NOT_REPLICATED",
        retryable: true,
        data: { replicas_required: 1, replicas_confirmed: 0, timeout_ms: 200 },
      });
      expect((refused as Error).message).toMatch(
        /^not accepted: the message was written but not confirmed by the replicas, so it may still be delivered.*same idempotency_key.*0 of the 1 replicas required confirmed the write within 200 ms/,
      );
      // WAIT comes after the write: the master has the message.
      expect(await h.redis.xlen(h.stream("validate"))).toBe(1);
    } finally {
      await h.close();
      await startReplica();
    }
  });

  it("keeps the idempotency key of a refused send: the retry is the same message, never a second", async () => {
    const h = new Harness(REPLICATED, master.url);
    const service = new Switchboard({
      target: h.target,
      redis: h.redis,
      keys: h.keys,
      pipeline: REPLICATED,
      log: silentLogger,
    });
    try {
      await h.agents("alice", "bob");
      await stopReplica();
      const input = {
        type: "message",
        to: ["bob"],
        body: { n: 1 },
        idempotency_key: "k1",
      } as ToolInput<"send_message">;
      await expect(service.send("alice", input)).rejects.toMatchObject({
        code: "NOT_REPLICATED",
      });
      await startReplica();
      const retry = await service.send("alice", input);
      expect(retry.status).toBe("duplicate");
      await h.worker();
      const inbox = await eventually(async () => {
        const ids = await h.inbox("bob");
        return ids.length > 0 && ids;
      });
      expect(inbox).toEqual([retry.message_id]);
    } finally {
      service.close();
      await h.close();
    }
  });

  it("counts an inbox append delivered only once the replica has it, retrying until then", async () => {
    const h = new Harness(REPLICATED, master.url);
    const local = new Ingress(h.redis, h.keys, LOCAL);
    try {
      await h.agents("alice", "bob");
      await stopReplica();
      const envelope = composeEnvelope({ from: "alice", to: ["bob"], body: {} });
      await local.accept(envelope); // accepted without the replica, to reach deliver
      await h.worker();
      const record = h.keys.message(envelope.id);
      // The master has the inbox entry, but deliver has not counted it delivered.
      await eventually(async () => (await h.inbox("bob")).length === 1);
      await eventually(async () => (await h.redis.hget(record, "r:bob:retrying")) !== null);
      expect(await h.redis.hget(record, "r:bob:delivered")).toBeNull();
      expect(await h.redis.hget(record, "r:bob:retrying")).toMatch(/NOT_REPLICATED/);
      await startReplica();
      await eventually(
        async () => (await h.redis.hget(record, "r:bob:delivered")) !== null,
        15_000,
      );
      expect(await h.inbox("bob")).toEqual([envelope.id]);
    } finally {
      await h.close();
      if (replica === undefined) await startReplica();
    }
  });
});

describe("durability: local", () => {
  it("never waits: a send is accepted with the replica down", async () => {
    const h = new Harness(LOCAL, master.url);
    await stopReplica();
    try {
      const before = await waitCalls();
      const id = await h.send({ from: "alice", to: ["bob"], body: {} });
      expect(await h.redis.hget(h.keys.message(id), "env")).not.toBeNull();
      expect(await waitCalls()).toBe(before);
    } finally {
      await h.close();
      await startReplica();
    }
  });
});
