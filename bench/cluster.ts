/**
 * `npm run bench -- --cluster`: the same saturated load on one Redis with one partition and on
 * a 3-master Redis Cluster (3 replicas), both started by the benchmark on spare ports, with three
 * partitions and with six, the cases interleaved in every run. Each case's Redis figures are
 * summed over the masters, with each master's CPU apart, to show that the work spreads and
 * where a cluster of N nodes would saturate. Called by bench/pipeline.ts.
 * Progress goes to stderr; the table (or, with --json, one JSON line) to stdout.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineScripts } from "../src/app/scripts.js";
import { loadPipeline } from "../src/config/pipeline.js";
import { spawnRedisServer } from "../src/redis/spawn.js";
import { startCluster, type LocalCluster } from "../src/redis/spawn-cluster.js";
import { connectTarget, type RedisTarget } from "../src/redis/target.js";
import type { BenchOptions } from "./args.js";
import * as clusterReport from "./cluster-report.js";
import { composeMessages } from "./load.js";
import { runScenario, type Result } from "./measure.js";
import { writePipelineWith } from "./pipeline-file.js";
import { failed, killAllNow, progress, quietBeforeMeasuring, stopOnSignals } from "./procs.js";
import { combine, machineDetails, publish } from "./report.js";
import { abortRun, agentsFor, inTurn, type Setup } from "./run.js";

/** A case: where Redis is and how many partitions the pipeline has. */
interface ClusterCase {
  key: clusterReport.CaseKey;
  name: string;
  partitions: number;
  cluster: boolean;
}

const CASES: readonly ClusterCase[] = [
  { key: "single", name: "one Redis, 1 partition", partitions: 1, cluster: false },
  { key: "cluster_3", name: "3 masters, 3 partitions", partitions: 3, cluster: true },
  { key: "cluster_6", name: "3 masters, 6 partitions", partitions: 6, cluster: true },
];

/** `host:port` of a cluster node → the target's node. */
function clusterTarget(cluster: LocalCluster): RedisTarget {
  const nodes = cluster.masters.map((address) => {
    const at = address.lastIndexOf(":");
    return { host: address.slice(0, at), port: Number(address.slice(at + 1)) };
  });
  return { kind: "cluster", nodes };
}

/** Runs the benchmark; returns the exit code. */
export async function runClusterBench(
  options: BenchOptions,
  argv: readonly string[],
): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "switchboard-bench-"));
  // A redis-server of its own, as the cluster nodes are (no persistence): nothing else counts.
  const redisAt = await spawnRedisServer({
    dir: join(dir, "single"),
    persistent: false,
    tried: "the cluster benchmark starts Redis servers of its own",
  });
  let cluster: LocalCluster | undefined;
  const setups: Setup[] = [];
  const close = async () => {
    for (const setup of setups) {
      setup.admin.disconnect();
      setup.producer.disconnect();
    }
    await cluster?.stop();
    await redisAt.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  process.on("exit", killAllNow);
  stopOnSignals("stopping the workers, removing this run's keys, stopping the cluster", () =>
    abortRun().finally(close),
  );
  try {
    progress("starting a Redis Cluster of 3 masters and 3 replicas");
    cluster = await startCluster();
    progress(`cluster up: masters ${cluster.masters.join(", ")}; one Redis at ${redisAt.url}`);
    const targets = {
      single: { kind: "single", url: redisAt.url } as const,
      cluster: clusterTarget(cluster),
    };
    const files = CASES.map((c) =>
      writePipelineWith(dir, `pipeline-${c.key}.yaml`, [[["partitions"], c.partitions]]),
    );
    const pipeline = loadPipeline(files[0]);
    const agents = agentsFor({ ...options, rate: 0 }, pipeline);
    for (const [i, c] of CASES.entries()) {
      const target = c.cluster ? targets.cluster : targets.single;
      setups.push({
        target,
        pipeline: loadPipeline(files[i]),
        admin: defineScripts(connectTarget(target, "admin", "bench:admin")),
        producer: connectTarget(target, "admin", "bench:producer"),
        agents,
        timeoutMs: options.timeoutS * 1000,
      });
    }
    const machine = await machineDetails(setups[0]!.admin);
    const workers = options.workers[0] ?? 1;
    const runs = Math.max(1, options.runs);
    progress(`composing ${options.messages} + ${options.warmup} messages`);
    const messages = composeMessages(options.messages, agents, options.bodyBytes, "m");
    const warmup = composeMessages(options.warmup, agents, options.bodyBytes, "w");
    const results = new Map<clusterReport.CaseKey, Result[]>(CASES.map((c) => [c.key, []]));
    for (let run = 1; run <= runs; run += 1) {
      for (const i of inTurn([...CASES.keys()], run)) {
        const c = CASES[i]!;
        await quietBeforeMeasuring(options.quietS);
        const label = `${c.name}, run ${run}/${runs}`;
        const env = { SWITCHBOARD_PIPELINE: files[i] };
        const scenario = { kind: "ours" as const, workers, messages, warmup, label, env };
        results.get(c.key)!.push(await runScenario(setups[i]!, scenario));
      }
    }
    const report: clusterReport.ClusterReport = {
      date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      command: `npm run bench -- ${argv.join(" ")}`,
      machine,
      messages: options.messages,
      runs,
      workers,
      bodyBytes: options.bodyBytes,
      agents,
      cases: CASES.map((c) => ({ ...c, result: combine(results.get(c.key)!) })),
    };
    publish(options, {
      name: "cluster",
      jsonLine: () => clusterReport.jsonLine(report),
      table: () => clusterReport.table(report),
      verdicts: () => clusterReport.verdicts(report),
      section: () => clusterReport.section(report),
    });
    return 0;
  } catch (error) {
    return failed(error);
  } finally {
    await close();
  }
}
