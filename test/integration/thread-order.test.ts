import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import type { ChildProcess } from "node:child_process";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { clusterTarget, expectEachOnceInThreadOrder } from "../support/cluster.js";
import { Registry } from "../../src/agents/registry.js";
import { defineScripts } from "../../src/app/scripts.js";
import { loadPipeline } from "../../src/config/pipeline.js";
import { Ingress } from "../../src/ingress/ingress.js";
import { composeEnvelope } from "../../src/protocol/compose.js";
import type { RedisClient } from "../../src/redis/client.js";
import { Keys } from "../../src/redis/keys.js";
import { connectTarget } from "../../src/redis/target.js";
import { cliEnv, finished, killAll, start } from "../support/cli.js";
import { startCluster, type LocalCluster } from "../../src/redis/spawn-cluster.js";
import { connect, deleteByPrefix, testPrefix } from "../support/redis.js";

/**
 * `ordering: thread` under four worker processes, one killed with SIGKILL mid-run: each
 * thread's messages reach each recipient's inbox once, in the order of their `seq`. On
 * one Redis, and on a real Redis Cluster (three masters, three replicas).
 */
const THREADS = 16;
const PER_THREAD = 30;
const RECIPIENTS = ["r1", "r2"];

let dir: string;
let cluster: LocalCluster | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "switchboard-order-"));
});
afterEach(killAll);
afterAll(async () => {
  await cluster?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The test Redis, or a new cluster: a connection to it and the workers' environment. */
async function onto(kind: "redis" | "cluster", prefix: string) {
  const env = cliEnv(prefix, join(dir, "pipeline.yaml"));
  if (kind === "redis") return { redis: defineScripts(await connect()) as RedisClient, env };
  cluster = await startCluster();
  delete env.REDIS_URL;
  env.REDIS_CLUSTER_NODES = cluster.masters.join(",");
  return { redis: defineScripts(connectTarget(clusterTarget(cluster.masters), "command")), env };
}

/** Resolves once a worker owns a partition (it logs "partition owned"). */
function owning(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.stderr?.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("partition owned")) resolve();
    });
  });
}

describe.each(["redis", "cluster"] as const)("on %s", (kind) => {
  it("keeps each thread in order in every inbox when a worker of four is killed", async () => {
    const prefix = testPrefix();
    const keys = new Keys(prefix);
    const { redis, env } = await onto(kind, prefix);
    const pipelineFile = join(dir, "pipeline.yaml");
    await writeFile(
      pipelineFile,
      [
        "version: 1",
        "partitions: 4",
        "ordering: thread",
        "ownership: { leaseMs: 1000 }",
        "defaults: { batchSize: 10, blockMs: 100, claimIdleMs: 1000, janitorIntervalMs: 300 }",
        "",
      ].join("\n"),
    );
    const pipeline = loadPipeline(pipelineFile);
    const registry = new Registry(redis, keys, pipeline);
    for (const name of ["sender", ...RECIPIENTS]) await registry.register({ name });

    const workers = [0, 1, 2, 3].map(() => start(["worker"], env));
    const exits = workers.map((w) => finished(w));
    await owning(workers[0]!);

    const ingress = new Ingress(redis, keys, pipeline);
    const threadOf = new Map<string, string>();
    const sent: string[] = [];
    for (let n = 0; n < PER_THREAD; n++) {
      const envelopes = Array.from({ length: THREADS }, (_, t) =>
        composeEnvelope({ from: "sender", to: RECIPIENTS, thread_id: `order-${t}`, body: { n } }),
      );
      await ingress.acceptMany(envelopes);
      for (const e of envelopes) {
        threadOf.set(e.id, e.thread_id);
        sent.push(e.id);
      }
      if (n === PER_THREAD / 3) workers[0]!.kill("SIGKILL");
      await delay(50);
    }

    for (const recipient of RECIPIENTS) {
      await expectEachOnceInThreadOrder(redis, keys.inbox(recipient), recipient, threadOf);
    }

    expect((await exits[0])!.signal).toBe("SIGKILL");
    for (const w of workers.slice(1)) w.kill("SIGTERM");
    for (const exit of exits.slice(1)) expect((await exit).code).toBe(0);
    await deleteByPrefix(redis, prefix);
    redis.disconnect();
  }, 180_000);
});
