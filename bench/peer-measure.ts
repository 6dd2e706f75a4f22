import { setTimeout as delay } from "node:timers/promises";
import type { Envelope } from "../src/protocol/envelope.js";
import type { AcceptedTimes } from "./load.js";
import { timings, type Result } from "./measure.js";
import { costsOf, startMeter } from "./meter.js";
import { assertAlive, progress, stopProc, type Proc } from "./procs.js";
import * as rt from "./redis-tools.js";
import type { Setup } from "./run.js";

/** What every chain of `--peers` reports, Switchboard's included, per measured message. */
export type ChainResult = Pick<
  Result,
  | "elapsedMs"
  | "msgsPerS"
  | "acceptedPerS"
  | "p50Ms"
  | "p99Ms"
  | "maxMs"
  | "workerCpuUsPerMsg"
  | "maxRssMiB"
  | "otherCpuPct"
> & {
  /** CPU of the store the chain runs on (Redis, or the NATS server; NaN if not found). */
  brokerCpuUsPerMsg: number;
};

/**
 * Switchboard's figures from the pipeline benchmark's result. Its latency is to the
 * inbox (a peer's: to its status being written), its broker Redis.
 */
export function fromSwitchboard(r: Result): ChainResult {
  return { ...r, brokerCpuUsPerMsg: r.redisCpuUsPerMsg };
}

/** A peer chain with its streams or queues made and its worker process started. */
export interface OpenChain {
  procs: Proc[];
  /** Whose CPU is the broker's: Redis (metered anyway), a process, or unknown. */
  broker: "redis" | Pick<Proc, "pid"> | undefined;
  /** Sends the messages to the first hop in acknowledged batches; when each was accepted. */
  produce(messages: readonly Envelope[]): Promise<AcceptedTimes>;
  /** Messages still in some hop (queued or in progress); 0 when every one is persisted. */
  inFlight(): Promise<number>;
  /** When each of these messages was persisted (ms); a message not persisted is left out. */
  persistedAt(ids: readonly string[]): Promise<Map<string, number>>;
  /** Stops the worker and removes every queue, stream and key of the run. */
  close(): Promise<void>;
}

/** A peer the benchmark compares Switchboard with. */
export interface Chain {
  key: string;
  name: string;
  open(): Promise<OpenChain>;
}

let current: OpenChain | undefined;

/** Closes the chain being measured, if any (on SIGINT). */
export async function abortChain(): Promise<void> {
  await current?.close();
}

/** Until nothing is in flight; fails when the worker dies or after `timeoutMs`. */
async function waitIdle(open: OpenChain, label: string, timeoutMs: number): Promise<void> {
  const start = performance.now();
  let reportedAt = start;
  for (;;) {
    assertAlive(open.procs);
    const left = await open.inFlight();
    if (left === 0) return;
    const now = performance.now();
    if (now - start > timeoutMs) {
      throw new Error(`${label}: ${left} messages still in flight ${timeoutMs / 1000} s on`);
    }
    if (now - reportedAt > 5000) {
      progress(`${label}: ${left} in flight`);
      reportedAt = now;
    }
    await delay(20);
  }
}

/** The warm-up, then the measured messages through a peer's four hops; the chain is closed after. */
export async function measureChain(
  setup: Setup,
  chain: Chain,
  scenario: { messages: readonly Envelope[]; warmup: readonly Envelope[]; label: string },
): Promise<ChainResult> {
  const { label, messages } = scenario;
  const open = await chain.open();
  current = open;
  try {
    await open.produce(scenario.warmup);
    await waitIdle(open, `${label} warm-up`, setup.timeoutMs);
    progress(`${label}: ${messages.length} messages`);
    const broker = open.broker === "redis" ? undefined : open.broker;
    const metered = broker === undefined ? open.procs : [...open.procs, broker];
    const meter = await startMeter(setup.admin, metered, new rt.OwnCommands());
    const t0 = performance.now();
    const accepted = await open.produce(messages);
    const producedMs = performance.now() - t0;
    await waitIdle(open, label, setup.timeoutMs);
    const elapsedMs = performance.now() - t0;
    const usage = await meter.stop(label);
    const persisted = await open.persistedAt([...accepted.keys()]);
    if (persisted.size !== accepted.size) {
      throw new Error(`${label}: ${persisted.size} of ${accepted.size} messages were persisted`);
    }
    const latencies = [...accepted].map(([id, at]) => persisted.get(id)! - at);
    for (const proc of open.procs) {
      const code = await stopProc(proc);
      if (code !== 0) progress(`warning: ${proc.name} exited with ${code ?? "a signal"}`);
    }
    const n = messages.length;
    const costs = costsOf(usage, n, open.procs);
    const brokerMs = open.broker === "redis" ? usage.redisCpuMs : broker && usage.cpuMs.get(broker);
    const result: ChainResult = {
      ...timings(n, { elapsedMs, producedMs, latencies }),
      workerCpuUsPerMsg: costs.workerCpuUsPerMsg,
      brokerCpuUsPerMsg: brokerMs === undefined ? NaN : (brokerMs * 1000) / n,
      maxRssMiB: costs.maxRssMiB,
      otherCpuPct: costs.otherCpuPct,
    };
    progress(
      `${label}: ${Math.round(result.msgsPerS)} msgs/s (accepted at ` +
        `${Math.round(result.acceptedPerS)}/s), p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms`,
    );
    return result;
  } finally {
    await open.close();
    current = undefined;
  }
}
