import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import slotOf from "cluster-key-slot";
import { afterAll, beforeAll, expect, it } from "vitest";
import { clusterTarget, expectEachOnceInThreadOrder, redirections } from "../support/cluster.js";
import { loadPipeline } from "../../src/config/pipeline.js";
import { readNodes } from "../../src/health/nodes.js";
import { clusterReadiness } from "../../src/health/readiness.js";
import { readStatus } from "../../src/health/status.js";
import { ERROR_CODES, isErrorCode, toErrorInfo } from "../../src/protocol/errors.js";
import { partitionTag } from "../../src/redis/partition-tag.js";
import { startCluster, type LocalCluster } from "../../src/redis/spawn-cluster.js";
import { partitionOf } from "../../src/streams/partitions.js";
import { cliEnv, finished, killAll, start } from "../support/cli.js";
import { eventually } from "../support/harness.js";
import { ServiceHarness } from "../support/service.js";

/**
 * Slots moved between the masters of a real Redis Cluster while Switchboard runs under a
 * steady send load (three partitions, `ordering: thread`, two `switchboard worker`
 * processes): first, slowly and key by key, the slot of partition 0's stage streams, of
 * an inbox and of the directory, so the clients meet
 * ASK (and TRYAGAIN, when a script's keys are split between the two nodes, which depends
 * on timing: counted, not required); then hundreds of slots at once with
 * `redis-cli --cluster reshard`, so they meet MOVED.
 * Every accepted message reaches each inbox once, each thread in `seq` order, no process
 * dies, and status and readiness show the new layout.
 */
const RECIPIENTS = ["r0", "r1", "r2"];
/** Two threads per partition, sent by two loops of three threads each. */
const THREADS = threadsPerPartition(3, 2);

let cluster: LocalCluster;
let h: ServiceHarness;
let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  cluster = await startCluster();
  const target = clusterTarget(cluster.masters);
  dir = await mkdtemp(join(tmpdir(), "switchboard-reshard-"));
  const file = join(dir, "pipeline.yaml");
  // A batch takes a few hundred ms on this 2-core machine with a cluster and the load:
  // claimIdleMs and the lease are set above that (what thread-order.test.ts uses), since
  // a janitor that claims a batch still in hand hands it out again, out of order (see
  // docs/scaling.md, Partitions).
  await writeFile(
    file,
    [
      "version: 1",
      "partitions: 3",
      "ordering: thread",
      "ownership: { leaseMs: 2000 }",
      "defaults: { batchSize: 10, blockMs: 100, claimIdleMs: 2000, janitorIntervalMs: 300 }",
      "",
    ].join("\n"),
  );
  h = new ServiceHarness(loadPipeline(file), target);
  env = cliEnv(h.keys.prefix, file);
  delete env.REDIS_URL;
  env.REDIS_CLUSTER_NODES = cluster.masters.join(",");
}, 60_000);

afterAll(async () => {
  killAll();
  await h?.close();
  await cluster?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** `count` thread ids in each of `partitions` partitions. */
function threadsPerPartition(partitions: number, count: number): string[] {
  const threads: string[] = [];
  for (let p = 0; p < partitions; p++) {
    for (let i = 0; threads.filter((t) => partitionOf(t, partitions) === p).length < count; i++) {
      const candidate = `reshard-${p}-${i}`;
      if (partitionOf(candidate, partitions) === p) threads.push(candidate);
    }
  }
  return threads;
}

/**
 * Sends the messages of some threads in turn until `until` resolves, each to every
 * recipient, retrying a transient refusal with the same idempotency key (as a client
 * should); returns the accepted messages (id and thread) and the refusals met.
 */
async function sendLoad(loop: number, threads: readonly string[], until: Promise<unknown>) {
  const accepted: [id: string, thread: string][] = [];
  const refusals: string[] = [];
  let done = false;
  void until.finally(() => (done = true));
  for (let n = 0; !done; n++) {
    const thread = threads[n % threads.length]!;
    for (;;) {
      try {
        const sent = await h.sendAs("sender", {
          to: RECIPIENTS,
          thread_id: thread,
          idempotency_key: `${loop}-${n}`,
          body: { loop, n },
        });
        accepted.push([sent.message_id, thread]);
        break;
      } catch (error) {
        const { code, message } = toErrorInfo(error);
        refusals.push(`${code}: ${message}`);
        if (!isErrorCode(code) || ERROR_CODES[code].category !== "transient") throw error;
        await delay(50);
      }
    }
    await delay(25); // a steady load, which the two workers keep up with
  }
  return { accepted, refusals };
}

/** Moves each slot to the master after the one serving it now, key by key. */
async function moveSlowly(slots: readonly number[]): Promise<void> {
  for (const slot of slots) {
    const from = await cluster.masterOf(slot);
    const to = cluster.masters[(cluster.masters.indexOf(from) + 1) % cluster.masters.length]!;
    await cluster.moveSlots([slot], to, { keysPerStep: 1, pauseMs: 20 });
  }
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

it("delivers every accepted message once, in thread order, while slots move between masters", async () => {
  await h.register("sender", ...RECIPIENTS);
  const workers = [0, 1].map(() => start(["worker"], env));
  const exits = workers.map((worker) => finished(worker));
  await eventually(async () => (await clusterReadiness(h)).ready, 20_000);
  const before = await redirections(h.redis);

  const partition0 = slotOf(partitionTag(0));
  const moved = [partition0, slotOf("a:r0"), slotOf("dir")];
  const resharding = (async () => {
    await delay(500); // the load is under way
    await moveSlowly(moved);
    // Hundreds of slots at once, as an operator would: message records and threads move.
    await cluster.reshard(cluster.masters[1]!, cluster.masters[2]!, 400);
    await delay(500); // and the load goes on a little after
  })();
  const loads = await Promise.all([
    sendLoad(
      0,
      THREADS.filter((_, i) => i % 2 === 0),
      resharding,
    ),
    sendLoad(
      1,
      THREADS.filter((_, i) => i % 2 === 1),
      resharding,
    ),
  ]);
  await resharding;
  const threadOf = new Map(loads.flatMap((load) => load.accepted));
  const accepted = [...threadOf.keys()];
  const refusals = loads.flatMap((load) => load.refusals);
  const after = await redirections(h.redis);
  console.log(
    `resharding under load: ${accepted.length} messages accepted, ${refusals.length} transient refusals retried; ` +
      `MOVED ${after.MOVED - before.MOVED}, ASK ${after.ASK - before.ASK}, TRYAGAIN ${after.TRYAGAIN - before.TRYAGAIN}`,
    refusals.slice(0, 5),
  );
  // The clients really met the migration.
  expect(after.ASK).toBeGreaterThan(before.ASK);
  expect(after.MOVED).toBeGreaterThan(before.MOVED);

  for (const recipient of RECIPIENTS) {
    await expectEachOnceInThreadOrder(h.redis, h.keys.inbox(recipient), recipient, threadOf);
  }

  // Status and readiness see the new layout: partition 0 where its slot went.
  const nodes = (await readNodes(h.redis, h.keys, 3))!;
  const holder = await cluster.masterOf(partition0);
  expect(nodes.find((node) => node.partitions.includes(0))?.address).toBe(holder);
  expect((await readStatus(h)).partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
  await eventually(async () => (await clusterReadiness(h)).ready, 20_000);

  expect(workers.map(alive)).toEqual([true, true]);
  for (const worker of workers) worker.kill("SIGTERM");
  for (const exit of exits) expect((await exit).code).toBe(0);
}, 110_000);
