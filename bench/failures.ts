/**
 * `npm run bench -- --failures`: pipeline throughput to webhooks when 10% of deliveries
 * fail once (a 503, then retried through BullMQ) against none failing, in the same run,
 * the cases interleaved; the failing case twice, with the endpoint's circuit breaker as
 * configured and held off (so the retries' own cost shows apart from a breaker's
 * cool-down); and the same messages delivered to inboxes, for push delivery's ratio to inbox
 * delivery. Called by bench/pipeline.ts (the `bench` script's entry).
 * Progress goes to stderr; the table (or, with --json, one JSON line) to stdout.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadPipeline, type RetryPolicy } from "../src/config/pipeline.js";
import { connectRedis } from "../src/redis/connection.js";
import { provisionRedis } from "../src/redis/provision.js";
import { defineScripts } from "../src/app/scripts.js";
import type { BenchOptions } from "./args.js";
import * as failuresReport from "./failures-report.js";
import {
  FAIL_PERCENT,
  runFailuresScenario,
  type CaseKey,
  type FailuresCase,
  type FailuresResult,
} from "./failures-run.js";
import { composeMessages } from "./load.js";
import { failed, killAllNow, progress, quietBeforeMeasuring, stopOnSignals } from "./procs.js";
import { writePipelineWith } from "./pipeline-file.js";
import { machineDetails, publish } from "./report.js";
import { abortRun, agentsFor, inTurn, type Setup } from "./run.js";
import { runScenario, type Result } from "./measure.js";

/**
 * The delivery retries of the benchmark: short, so that the retried tenth is delivered
 * within the run (the production default waits 1 s, then doubles).
 */
export const BENCH_DELIVERY_RETRY: RetryPolicy = {
  attempts: 8,
  delayMs: 50,
  maxDelayMs: 1000,
  jitter: 0.2,
};

/**
 * The breaker threshold of the "breaker held off" case: never reached, so that the cost of
 * the retries themselves shows apart from a breaker's cool-down.
 */
const BREAKER_HELD_OFF = 1_000_000;

/**
 * The pipeline file (SWITCHBOARD_PIPELINE or the default) with the bench's delivery retries
 * and, if given, another breaker threshold, written to `dir/name`.
 */
function writeBenchPipeline(dir: string, name: string, breakerThreshold?: number): string {
  const breaker = breakerThreshold === undefined ? [] : [breakerThreshold];
  return writePipelineWith(dir, name, [
    [["retries", "delivery"], { ...BENCH_DELIVERY_RETRY }],
    ...breaker.map((n) => [["webhooks", "breaker", "failureThreshold"], n] as const),
  ]);
}

/** The three cases: each run measures every one, in an order that turns from run to run. */
function casesIn(dir: string): FailuresCase[] {
  const pipelineFile = writeBenchPipeline(dir, "pipeline.yaml");
  const heldOff = writeBenchPipeline(dir, "pipeline-breaker-off.yaml", BREAKER_HELD_OFF);
  const failing = `${FAIL_PERCENT}% fail once (503)`;
  return [
    { key: "clean", name: "no delivery fails", failing: false, pipelineFile },
    { key: "failing", name: failing, failing: true, pipelineFile },
    {
      key: "failing_breaker_off",
      name: `${failing}, breaker held off`,
      failing: true,
      pipelineFile: heldOff,
    },
  ];
}

/** The inbox case, measured in every run beside the webhook cases. */
const INBOX = { name: "inbox delivery (no webhook)" } as const;

/** Runs the benchmark; returns the exit code. */
export async function runFailuresBench(
  options: BenchOptions,
  argv: readonly string[],
): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "switchboard-bench-"));
  const cases = casesIn(dir);
  const pipeline = loadPipeline(cases[0]!.pipelineFile);
  const redisAt = await provisionRedis({ log: progress });
  const admin = defineScripts(connectRedis(redisAt.url, "admin", "bench:admin"));
  const producer = connectRedis(redisAt.url, "admin", "bench:producer");
  const setup: Setup = {
    target: { kind: "single", url: redisAt.url },
    pipeline,
    admin,
    producer,
    // Enough recipients that the inbox case fills no inbox.
    agents: agentsFor({ ...options, rate: 0 }, pipeline),
    timeoutMs: options.timeoutS * 1000,
  };
  process.on("exit", killAllNow);
  stopOnSignals("stopping the worker and the receiver, removing this run's keys", abortRun);

  const workers = options.workers[0] ?? 1;
  const runs = Math.max(1, options.runs);
  try {
    const machine = await machineDetails(admin);
    progress(`composing ${options.messages} + ${options.warmup} messages`);
    const messages = composeMessages(options.messages, setup.agents, options.bodyBytes, "m");
    const warmup = composeMessages(options.warmup, setup.agents, options.bodyBytes, "w");
    const results = new Map<CaseKey, FailuresResult[]>(cases.map((c) => [c.key, []]));
    // The same messages to agents without a webhook: inbox delivery, for push's ratio to it.
    const inbox: Result[] = [];
    for (let run = 1; run <= runs; run += 1) {
      for (const c of inTurn([...cases, INBOX], run)) {
        await quietBeforeMeasuring(options.quietS);
        const label = `${c.name}, run ${run}/${runs}`;
        if (!("key" in c)) {
          const env = { SWITCHBOARD_PIPELINE: cases[0]!.pipelineFile };
          inbox.push(
            await runScenario(setup, { kind: "ours", workers, messages, warmup, label, env }),
          );
          continue;
        }
        const scenario = { case: c, workers, messages, warmup, label };
        results.get(c.key)!.push(await runFailuresScenario(setup, scenario));
      }
    }
    const report: failuresReport.FailuresReport = {
      date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      command: `npm run bench -- ${argv.join(" ")}`,
      machine,
      messages: options.messages,
      warmup: options.warmup,
      runs,
      workers,
      bodyBytes: options.bodyBytes,
      agents: setup.agents,
      failPercent: FAIL_PERCENT,
      retry: BENCH_DELIVERY_RETRY,
      webhooks: pipeline.webhooks,
      breakerHeldOff: BREAKER_HELD_OFF,
      cases: cases.map((c) => ({ key: c.key, name: c.name, runs: results.get(c.key)! })),
      inbox,
    };
    publish(options, {
      name: "failures",
      jsonLine: () => failuresReport.failuresJsonLine(report),
      table: () => failuresReport.failuresTable(report),
      verdicts: () => failuresReport.failuresVerdicts(report),
      section: () => failuresReport.failuresSection(report),
    });
    return 0;
  } catch (error) {
    return failed(error);
  } finally {
    admin.disconnect();
    producer.disconnect();
    await redisAt.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
