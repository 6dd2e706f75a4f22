import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { Registry } from "../src/agents/registry.js";
import { STAGE_NAMES, type Pipeline } from "../src/config/pipeline.js";
import { Ingress } from "../src/ingress/ingress.js";
import type { Envelope } from "../src/protocol/envelope.js";
import { Keys } from "../src/redis/keys.js";
import { produceFlat, producePaced } from "./load.js";
import {
  progress,
  cpuMs,
  machineBusyMs,
  spawnProc,
  stopAll,
  stopProc,
  type Proc,
} from "./procs.js";
import * as rt from "./redis-tools.js";
import { waitForReaders, waitUntilDone } from "./wait.js";

export type Kind = "ours" | "bare";

export interface Setup {
  url: string;
  pipeline: Pipeline;
  /** Agent registration (scripts defined), polling, INFO, XRANGE and cleanup. */
  admin: Redis;
  /** The producer's connection (Ingress). */
  producer: Redis;
  agents: number;
  /** How long the messages may take to arrive after the last one was accepted. */
  timeoutMs: number;
}

export interface Scenario {
  kind: Kind;
  workers: number;
  messages: readonly Envelope[];
  warmup: readonly Envelope[];
  /** Messages per second; undefined: as fast as the producer can append. */
  rate?: number;
  label: string;
  /** Extra environment of our workers (such as `OTEL_*` for the tracing runs). */
  env?: NodeJS.ProcessEnv;
}

export interface Result {
  kind: Kind;
  workers: number;
  rate: number | undefined;
  messages: number;
  /** First append to the last message handled by every stage. */
  elapsedMs: number;
  msgsPerS: number;
  /** How fast the producer appended (saturated runs: as fast as it could). */
  acceptedPerS: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Redis commands per message, Lua-internal calls included, the benchmark's own excluded. */
  commandsPerMsg: number;
  commandsByName: Record<string, number>;
  redisCpuUsPerMsg: number;
  workerCpuUsPerMsg: number;
  /** Largest RSS of any one worker process, MiB. */
  maxRssMiB: number;
  /** CPU used by anything but Redis, the workers and this process, % of one core: noise. */
  otherCpuPct: number;
}

const BIN = new URL("../bin/switchboard.js", import.meta.url).pathname;
const CEILING = new URL("./ceiling-worker.ts", import.meta.url).pathname;
let inFlight: (() => Promise<void>) | undefined;

/** Stops the workers of the scenario under way and removes its keys (on SIGINT). */
export async function abortScenario(): Promise<void> {
  await inFlight?.();
}

export async function runScenario(setup: Setup, scenario: Scenario): Promise<Result> {
  const { admin, pipeline } = setup;
  const keys = new Keys(`bench-${randomBytes(4).toString("hex")}`);
  const streams = STAGE_NAMES.map((name) => ({
    key: keys.stream(pipeline.stages[name].stream),
    group: pipeline.stages[name].group,
  }));
  const inboxes = Array.from({ length: setup.agents }, (_, i) => keys.inbox(`agent-${i}`));
  const procs: Proc[] = [];
  const cleanup = async () => {
    await stopAll();
    await rt.deletePrefix(admin, keys);
  };
  inFlight = cleanup;
  try {
    // Route delivers only to registered agents; both kinds get the same inboxes.
    const registry = new Registry(admin, keys, pipeline);
    for (let i = 0; i < setup.agents; i += 1) await registry.register({ name: `agent-${i}` });
    if (scenario.kind === "bare") {
      for (const { key, group } of streams)
        await admin.xgroup("CREATE", key, group, "0", "MKSTREAM");
    }
    const env = {
      ...withoutTelemetry(process.env),
      ...scenario.env,
      REDIS_URL: setup.url,
      SWITCHBOARD_PREFIX: keys.prefix,
      SWITCHBOARD_LOG_LEVEL: "warn",
      BENCH_AGENTS: String(setup.agents),
    };
    // e.g. BENCH_WORKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile our workers
    const nodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? "").split(" ").filter(Boolean);
    const args =
      scenario.kind === "ours" ? [...nodeArgs, BIN, "worker"] : ["--import", "tsx", CEILING];
    for (let i = 0; i < scenario.workers; i += 1) {
      procs.push(spawnProc(`${scenario.kind}-${i + 1}`, args, env));
    }
    const loops = STAGE_NAMES.reduce((sum, n) => sum + pipeline.stages[n].concurrency, 0);
    await waitForReaders(admin, procs, loops);

    const ingress = new Ingress(setup.producer, keys, pipeline);
    const waitAll = (expected: number, own: rt.OwnCommands) =>
      waitUntilDone({ ...setup, streams, inboxes, procs, expected, own, label: scenario.label });
    await produceFlat(ingress, scenario.warmup);
    await waitAll(scenario.warmup.length, new rt.OwnCommands());

    const n = scenario.messages.length;
    progress(`${scenario.label}: ${n} messages${scenario.rate ? ` at ${scenario.rate}/s` : ""}`);
    const own = new rt.OwnCommands();
    const before = await rt.snapshot(admin, own);
    const cpuBefore = procs.reduce((sum, p) => sum + cpuMs(p.pid), 0);
    const busyBefore = machineBusyMs();
    const selfBefore = process.cpuUsage();
    const t0 = performance.now();
    const accepted =
      scenario.rate === undefined
        ? await produceFlat(ingress, scenario.messages)
        : await producePaced(ingress, scenario.messages, scenario.rate);
    const producedMs = performance.now() - t0;
    own.add("xadd", n);
    await waitAll(scenario.warmup.length + n, own);
    const elapsedMs = performance.now() - t0;
    const cpuAfter = procs.reduce((sum, p) => sum + cpuMs(p.pid), 0);
    const self = process.cpuUsage(selfBefore);
    const busy = machineBusyMs() - busyBefore;
    const after = await rt.snapshot(admin, own);
    const known =
      after.cpuMs - before.cpuMs + cpuAfter - cpuBefore + (self.user + self.system) / 1000;

    const latencies = await rt.readLatencies(admin, inboxes, accepted);
    latencies.sort((a, b) => a - b);
    for (const proc of procs) {
      const code = await stopProc(proc);
      if (code !== 0) progress(`warning: ${proc.name} exited with ${code ?? "a signal"}`);
    }
    const calls = rt.callsBetween(before, after, own);
    const total = [...calls.values()].reduce((a, b) => a + b, 0);
    const byName = [...calls]
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => [k, round(v / n)] as const)
      .filter(([, perMsg]) => perMsg > 0);
    const result: Result = {
      kind: scenario.kind,
      workers: scenario.workers,
      rate: scenario.rate,
      messages: n,
      elapsedMs,
      msgsPerS: (n * 1000) / elapsedMs,
      acceptedPerS: (n * 1000) / producedMs,
      p50Ms: rt.percentile(latencies, 0.5),
      p99Ms: rt.percentile(latencies, 0.99),
      maxMs: latencies[latencies.length - 1] ?? NaN,
      commandsPerMsg: total / n,
      commandsByName: Object.fromEntries(byName),
      redisCpuUsPerMsg: ((after.cpuMs - before.cpuMs) * 1000) / n,
      workerCpuUsPerMsg: ((cpuAfter - cpuBefore) * 1000) / n,
      maxRssMiB: Math.max(...procs.map((p) => p.maxRssKiB)) / 1024,
      otherCpuPct: Math.max(0, ((busy - known) * 100) / elapsedMs),
    };
    if (result.otherCpuPct > 15) {
      progress(
        `warning: other processes used ${Math.round(result.otherCpuPct)}% of a core during ${scenario.label}; figures are noisy`,
      );
    }
    progress(
      `${scenario.label}: ${Math.round(result.msgsPerS)} msgs/s ` +
        `(accepted at ${Math.round(result.acceptedPerS)}/s), p50 ${result.p50Ms} ms, ` +
        `p99 ${result.p99Ms} ms, ${result.commandsPerMsg.toFixed(1)} cmds/msg, ` +
        `worker CPU ${Math.round(result.workerCpuUsPerMsg)} µs/msg, ` +
        `RSS ${result.maxRssMiB.toFixed(0)} MiB`,
    );
    return result;
  } finally {
    await cleanup();
    inFlight = undefined;
  }
}

/** The environment without `OTEL_*`: workers trace only when a scenario says so. */
function withoutTelemetry(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith("OTEL_")));
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
