import type { Envelope } from "../src/protocol/envelope.js";
import { produceFlat, producePaced } from "./load.js";
import { costsOf, startMeter, type Costs } from "./meter.js";
import { progress, stopProc } from "./procs.js";
import * as rt from "./redis-tools.js";
import { withRun, type Kind, type Setup } from "./run.js";

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

export interface Result extends Costs {
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
}

/**
 * Throughput and latency figures of `n` measured messages: `elapsedMs` from the first send
 * until all were done, `producedMs` until all were accepted, a latency each.
 */
export function timings(
  n: number,
  measured: { elapsedMs: number; producedMs: number; latencies: number[] },
): Pick<Result, "elapsedMs" | "msgsPerS" | "acceptedPerS" | "p50Ms" | "p99Ms" | "maxMs"> {
  const { elapsedMs, producedMs } = measured;
  const latencies = [...measured.latencies].sort((a, b) => a - b);
  return {
    elapsedMs,
    msgsPerS: (n * 1000) / elapsedMs,
    acceptedPerS: (n * 1000) / producedMs,
    p50Ms: rt.percentile(latencies, 0.5),
    p99Ms: rt.percentile(latencies, 0.99),
    maxMs: latencies[latencies.length - 1] ?? NaN,
  };
}

/** The messages through the four stages into the inboxes of `agent-0..N-1`. */
export async function runScenario(setup: Setup, scenario: Scenario): Promise<Result> {
  const { admin } = setup;
  return withRun(setup, scenario, async ({ keys, procs, ingress, waitDone }) => {
    const inboxes = Array.from({ length: setup.agents }, (_, i) => keys.inbox(`agent-${i}`));
    const waitAll = (expected: number, own: rt.OwnCommands) =>
      waitDone(expected, own, {
        where: "in the inboxes",
        arrived: () => rt.inboxTotal(admin, inboxes, own),
      });
    await produceFlat(ingress, scenario.warmup);
    await waitAll(scenario.warmup.length, new rt.OwnCommands());

    const n = scenario.messages.length;
    progress(`${scenario.label}: ${n} messages${scenario.rate ? ` at ${scenario.rate}/s` : ""}`);
    const own = new rt.OwnCommands();
    const meter = await startMeter(admin, procs, own);
    const t0 = performance.now();
    const accepted =
      scenario.rate === undefined
        ? await produceFlat(ingress, scenario.messages)
        : await producePaced(ingress, scenario.messages, scenario.rate);
    const producedMs = performance.now() - t0;
    own.add("xadd", n);
    await waitAll(scenario.warmup.length + n, own);
    const elapsedMs = performance.now() - t0;
    const usage = await meter.stop(scenario.label);

    const latencies = await rt.readLatencies(admin, inboxes, accepted);
    for (const proc of procs) {
      const code = await stopProc(proc);
      if (code !== 0) progress(`warning: ${proc.name} exited with ${code ?? "a signal"}`);
    }
    const result: Result = {
      kind: scenario.kind,
      workers: scenario.workers,
      rate: scenario.rate,
      messages: n,
      ...timings(n, { elapsedMs, producedMs, latencies }),
      ...costsOf(usage, n, procs),
    };
    progress(
      `${scenario.label}: ${Math.round(result.msgsPerS)} msgs/s ` +
        `(accepted at ${Math.round(result.acceptedPerS)}/s), p50 ${result.p50Ms} ms, ` +
        `p99 ${result.p99Ms} ms, ${result.commandsPerMsg.toFixed(1)} cmds/msg, ` +
        `RSS ${result.maxRssMiB.toFixed(0)} MiB`,
    );
    return result;
  });
}
