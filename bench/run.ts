import { randomBytes } from "node:crypto";
import { Registry } from "../src/agents/registry.js";
import { STAGE_NAMES, type Pipeline } from "../src/config/pipeline.js";
import { Ingress } from "../src/ingress/ingress.js";
import type { RedisClient } from "../src/redis/client.js";
import { Keys } from "../src/redis/keys.js";
import { nodeAddress, type RedisTarget } from "../src/redis/target.js";
import { allPartitions } from "../src/streams/partitions.js";
import type { BenchOptions } from "./args.js";
import { progress, spawnProc, stopAll, type Proc } from "./procs.js";
import * as rt from "./redis-tools.js";
import { waitForReaders, waitUntilDone, type Arrival } from "./wait.js";

export type Kind = "ours" | "bare";

export interface Setup {
  /** One Redis (the workers get REDIS_URL) or a cluster (REDIS_CLUSTER_NODES). */
  target: RedisTarget;
  pipeline: Pipeline;
  /** Agent registration (scripts defined), polling, INFO, XRANGE and cleanup. */
  admin: RedisClient;
  /** The producer's connection (Ingress). */
  producer: RedisClient;
  agents: number;
  /** How long the messages may take to arrive after the last one was accepted. */
  timeoutMs: number;
}

export interface RunOptions {
  kind: Kind;
  workers: number;
  /** Names the run in progress lines and errors. */
  label: string;
  /** Push delivery: every agent is registered with this webhook, its name appended as the path. */
  webhookUrl?: string;
  /** More environment for the workers (e.g. SWITCHBOARD_PIPELINE). */
  env?: NodeJS.ProcessEnv;
}

/** What a run under way has: its own keys, registered agents and reading workers. */
export interface Run {
  keys: Keys;
  streams: { key: string; group: string }[];
  /** The worker processes. */
  procs: Proc[];
  ingress: Ingress;
  /** Until `expected` messages (warm-up included) arrived and every stage is idle. */
  waitDone: (expected: number, own: rt.OwnCommands, arrival: Arrival) => Promise<void>;
}

const BIN = new URL("../bin/switchboard.js", import.meta.url).pathname;
const CEILING = new URL("./ceiling-worker.ts", import.meta.url).pathname;
let inFlight: (() => Promise<void>) | undefined;

/** Stops the workers of the run under way and removes its keys (on SIGINT). */
export async function abortRun(): Promise<void> {
  await inFlight?.();
}

/**
 * Runs `body` on a prefix of its own, with `agent-0..N-1` registered and the workers
 * started and reading; afterwards, whatever happened, stops the workers and deletes the keys.
 */
export async function withRun<T>(
  setup: Setup,
  options: RunOptions,
  body: (run: Run) => Promise<T>,
): Promise<T> {
  const { admin, pipeline } = setup;
  const keys = new Keys(`bench-${randomBytes(4).toString("hex")}`);
  const streams = allPartitions(pipeline.partitions).flatMap((p) =>
    STAGE_NAMES.map((name) => ({
      key: keys.forPartition(p).stream(pipeline.stages[name].stream),
      group: pipeline.stages[name].group,
    })),
  );
  const cleanup = async () => {
    await stopAll();
    await rt.deletePrefix(admin, keys);
  };
  inFlight = cleanup;
  try {
    // Route delivers only to registered agents; both kinds get the same inboxes.
    const registry = new Registry(admin, keys, pipeline);
    for (let i = 0; i < setup.agents; i += 1) {
      const name = `agent-${i}`;
      const hook =
        options.webhookUrl === undefined ? {} : { webhook_url: options.webhookUrl + name };
      await registry.register({ name, ...hook });
    }
    if (options.kind === "bare") {
      for (const { key, group } of streams)
        await admin.xgroup("CREATE", key, group, "0", "MKSTREAM");
    }
    const env = {
      ...withoutTelemetry(process.env),
      ...options.env,
      ...targetEnv(setup.target),
      SWITCHBOARD_PREFIX: keys.prefix,
      SWITCHBOARD_LOG_LEVEL: "warn",
      BENCH_AGENTS: String(setup.agents),
    };
    // e.g. BENCH_WORKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile our workers
    const nodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? "").split(" ").filter(Boolean);
    const args =
      options.kind === "ours" ? [...nodeArgs, BIN, "worker"] : ["--import", "tsx", CEILING];
    const procs: Proc[] = [];
    for (let i = 0; i < options.workers; i += 1) {
      procs.push(spawnProc(`${options.kind}-${i + 1}`, args, env));
    }
    const perPartition = STAGE_NAMES.reduce((sum, n) => sum + pipeline.stages[n].concurrency, 0);
    const loops = perPartition * pipeline.partitions;
    await waitForReaders(admin, procs, loops);
    const ingress = new Ingress(setup.producer, keys, pipeline);
    const waitDone = (expected: number, own: rt.OwnCommands, arrival: Arrival) =>
      waitUntilDone({ ...setup, ...arrival, streams, procs, expected, own, label: options.label });
    return await body({ keys, streams, procs, ingress, waitDone });
  } finally {
    await cleanup();
    inFlight = undefined;
  }
}

/** Where the workers find Redis. */
function targetEnv(target: RedisTarget): NodeJS.ProcessEnv {
  if (target.kind === "single") return { REDIS_URL: target.url, REDIS_CLUSTER_NODES: undefined };
  return { REDIS_URL: undefined, REDIS_CLUSTER_NODES: target.nodes.map(nodeAddress).join(",") };
}

/** The environment without `OTEL_*`: workers trace only when a run says so. */
function withoutTelemetry(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith("OTEL_")));
}

/** The cases of run `run` (from 1): each goes first in turn, so that a drift of the machine favours none. */
export function inTurn<T>(cases: readonly T[], run: number): T[] {
  const turn = (run - 1) % cases.length;
  return [...cases.slice(turn), ...cases.slice(0, turn)];
}

/** Enough recipients that no inbox goes over its quota of unacknowledged messages. */
export function agentsFor(options: BenchOptions, pipeline: Pipeline): number {
  const most = Math.max(options.runs > 0 ? options.messages : 0, options.rate * options.seconds);
  const needed = Math.ceil((most + options.warmup) / Math.max(1, pipeline.inbox.quota - 2));
  if (needed > options.agents) {
    progress(
      `using ${needed} agents, so that no inbox exceeds its quota of ${pipeline.inbox.quota}`,
    );
  }
  return Math.max(options.agents, needed);
}
