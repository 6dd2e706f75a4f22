import type { RedisClient } from "../src/redis/client.js";
import type { Envelope } from "../src/protocol/envelope.js";
import type { Keys } from "../src/redis/keys.js";
import { produceFlat, type AcceptedTimes } from "./load.js";
import { costsOf, startMeter, type Costs } from "./meter.js";
import { progress, stopProc } from "./procs.js";
import { failsFirst, startReceiver, type Received } from "./receiver.js";
import * as rt from "./redis-tools.js";
import { withRun, type Setup } from "./run.js";

/** The share of messages whose first webhook POST fails, %. */
export const FAIL_PERCENT = 10;

/** What is compared: none failing, a tenth failing, a tenth failing with no breaker to trip. */
export type CaseKey = "clean" | "failing" | "failing_breaker_off";

export interface FailuresCase {
  key: CaseKey;
  /** Its row in the table. */
  name: string;
  /** Whether the receiver fails the first POST of the chosen tenth; else it fails none. */
  failing: boolean;
  /** The pipeline file the workers load (SWITCHBOARD_PIPELINE): short delivery retries. */
  pipelineFile: string;
}

export interface FailuresScenario {
  case: FailuresCase;
  workers: number;
  messages: readonly Envelope[];
  warmup: readonly Envelope[];
  label: string;
}

export interface FailuresResult extends Costs {
  case: CaseKey;
  messages: number;
  /** First send to the last first 2xx of a measured message. */
  elapsedMs: number;
  /** Measured messages answered 2xx, per second of `elapsedMs`. */
  msgsPerS: number;
  acceptedPerS: number;
  /** First send to the last 2xx of the chosen tenth (retried in the failing case). */
  tenthDoneMs: number;
  /** First send to the last 2xx of the other messages. */
  restDoneMs: number;
  /** Accepted (Redis clock) → 2xx (receiver's clock; same host), every measured message. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  tenthP50Ms: number;
  tenthP99Ms: number;
  /** POSTs answered per measured message (1.1 when a tenth fail once). */
  postsPerMsg: number;
  /** The receiver's CPU over the measurement, % of one core. */
  receiverCpuPct: number;
  /** Whether the endpoint's circuit breaker opened during the measurement. */
  breakerOpened: boolean;
}

/**
 * One run: fresh agents that take their mail by webhook (a receiver of its own), the
 * workers on the bench's pipeline file, a warm-up, then every message at once; waits for
 * each to be answered 2xx and the stages to settle, and checks each was delivered once.
 */
export async function runFailuresScenario(
  setup: Setup,
  scenario: FailuresScenario,
): Promise<FailuresResult> {
  const { admin } = setup;
  const { failing, pipelineFile } = scenario.case;
  const receiver = await startReceiver(failing ? FAIL_PERCENT : 0, scenario.label);
  const options = {
    kind: "ours" as const,
    workers: scenario.workers,
    label: scenario.label,
    webhookUrl: receiver.url,
    env: { SWITCHBOARD_PIPELINE: pipelineFile },
  };
  try {
    return await withRun(setup, options, async ({ keys, procs, ingress, waitDone }) => {
      const waitAll = (expected: number, own: rt.OwnCommands) =>
        waitDone(expected, own, {
          where: "answered 2xx by the receiver",
          // The stages are idle long before the webhook queue is drained.
          idleGiveUpMs: Infinity,
          pollMs: 50,
          arrived: async () => (await receiver.stats()).delivered,
        });
      const warm = await produceFlat(ingress, scenario.warmup);
      await waitAll(scenario.warmup.length, new rt.OwnCommands());

      const n = scenario.messages.length;
      progress(`${scenario.label}: ${n} messages`);
      const own = new rt.OwnCommands();
      const meter = await startMeter(admin, [...procs, receiver.proc], own);
      const t0 = Date.now();
      const accepted = await produceFlat(ingress, scenario.messages);
      const producedMs = Date.now() - t0;
      own.add("xadd", n);
      await waitAll(scenario.warmup.length + n, own);
      const usage = await meter.stop(scenario.label);
      const breakerOpened = await openedSince(admin, keys, t0);
      // Stopped before the log is read, so that a late second POST would show in it.
      for (const proc of procs) {
        const code = await stopProc(proc);
        if (code !== 0) progress(`warning: ${proc.name} exited with ${code ?? "a signal"}`);
      }
      const log = await receiver.log();
      checkExactlyOnce(scenario, log, new Map([...warm, ...accepted]));

      const result: FailuresResult = {
        case: scenario.case.key,
        messages: n,
        ...timings(log, accepted, t0),
        acceptedPerS: (n * 1000) / Math.max(1, producedMs),
        receiverCpuPct: ((usage.cpuMs.get(receiver.proc) ?? 0) * 100) / usage.windowMs,
        breakerOpened,
        ...costsOf(usage, n, procs),
      };
      progress(
        `${scenario.label}: ${Math.round(result.msgsPerS)} msgs/s delivered, the chosen tenth ` +
          `done at ${(result.tenthDoneMs / 1000).toFixed(2)} s, the rest at ` +
          `${(result.restDoneMs / 1000).toFixed(2)} s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, ` +
          `${result.postsPerMsg.toFixed(2)} POSTs/msg, ${result.commandsPerMsg.toFixed(1)} cmds/msg, ` +
          `receiver CPU ${Math.round(result.receiverCpuPct)}%${breakerOpened ? ", the breaker OPENED" : ""}`,
      );
      return result;
    });
  } finally {
    await receiver.stop();
  }
}

/**
 * Whether an endpoint's breaker opened at or after `since` (epoch ms): its record keeps
 * `opened_at` of the last opening, so an opening that an in-flight success closed again at
 * once is seen too (polling its state would miss it; the jobs it deferred still wait).
 */
async function openedSince(admin: RedisClient, keys: Keys, since: number): Promise<boolean> {
  const endpoints = Object.keys(await admin.hgetall(keys.breakers()));
  for (const hash of endpoints) {
    if (Number((await admin.hget(keys.breaker(hash), "opened_at")) ?? 0) >= since) return true;
  }
  return false;
}

/** Throughput, drain times and latencies of the measured messages, from the receiver's log. */
function timings(log: ReadonlyMap<string, Received>, accepted: AcceptedTimes, t0: number) {
  const tenth: number[] = [];
  const all: number[] = [];
  let [tenthDone, restDone, posts] = [0, 0, 0];
  for (const [id, acceptedAt] of accepted) {
    const { okAt, ok, failed } = log.get(id)!;
    const latency = okAt - acceptedAt;
    all.push(latency);
    posts += ok + failed;
    if (failsFirst(id, FAIL_PERCENT)) {
      tenth.push(latency);
      tenthDone = Math.max(tenthDone, okAt);
    } else {
      restDone = Math.max(restDone, okAt);
    }
  }
  [all, tenth].forEach((list) => list.sort((a, b) => a - b));
  const elapsedMs = Math.max(tenthDone, restDone) - t0;
  return {
    elapsedMs,
    msgsPerS: (accepted.size * 1000) / elapsedMs,
    tenthDoneMs: tenthDone - t0,
    restDoneMs: restDone - t0,
    p50Ms: rt.percentile(all, 0.5),
    p99Ms: rt.percentile(all, 0.99),
    maxMs: all[all.length - 1] ?? NaN,
    tenthP50Ms: rt.percentile(tenth, 0.5),
    tenthP99Ms: rt.percentile(tenth, 0.99),
    postsPerMsg: posts / accepted.size,
  };
}

/**
 * Every message sent (warm-up included) answered 2xx exactly once, after exactly one 503
 * if it was chosen to fail and none otherwise; nothing else POSTed. Throws, listing a few.
 */
function checkExactlyOnce(
  scenario: FailuresScenario,
  log: ReadonlyMap<string, Received>,
  sent: ReadonlyMap<string, number>,
): void {
  const wrong: string[] = [];
  for (const id of sent.keys()) {
    const r = log.get(id) ?? { failed: 0, ok: 0, okAt: 0 };
    const failures = scenario.case.failing && failsFirst(id, FAIL_PERCENT) ? 1 : 0;
    if (r.ok !== 1 || r.failed !== failures) {
      wrong.push(`${id}: ${r.ok}× 2xx, ${r.failed}× 503 (expected 1× 2xx, ${failures}× 503)`);
    }
  }
  for (const id of log.keys()) if (!sent.has(id)) wrong.push(`${id}: never sent`);
  if (wrong.length > 0) {
    throw new Error(
      `${scenario.label}: ${wrong.length} of ${sent.size} messages were not delivered exactly once:\n  ` +
        wrong.slice(0, 10).join("\n  ") +
        (wrong.length > 10 ? `\n  … and ${wrong.length - 10} more` : ""),
    );
  }
}
