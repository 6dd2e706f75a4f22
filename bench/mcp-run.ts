import { setTimeout as delay } from "node:timers/promises";
import type { Redis } from "ioredis";
import type { Pipeline } from "../src/config/pipeline.js";
import {
  closeAgents,
  connectAgents,
  type Agent,
  type CallRecord,
  type Mode,
} from "./mcp-agents.js";
import { RoundTrips } from "./mcp-loop.js";
import { startServe, type Serve } from "./mcp-serve.js";
import { cpuMs, machineBusyMs, progress } from "./procs.js";
import * as rt from "./redis-tools.js";

export interface McpSetup {
  url: string;
  pipeline: Pipeline;
  admin: Redis;
  /** Round trips excluded before the window opens. */
  warmup: number;
  /** Length of the measured window. */
  seconds: number;
}

export interface McpScenario {
  mode: Mode;
  agents: number;
}

/** One run of a scenario; times in ms, CPU in % of one core. */
export interface McpResult extends McpScenario {
  roundTrips: number;
  roundTripsPerS: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  sendP50Ms: number;
  sendP99Ms: number;
  ackP50Ms: number;
  ackP99Ms: number;
  /** Every tool call that ended in the window (fetch_inbox included), per second. */
  callsPerS: number;
  serveCpuPct: number;
  /** Serve CPU (front end and stages) over the window per measured round trip, ms. */
  serveCpuMsPerRoundTrip: number;
  /** Largest VmRSS of the serve process, sampled every 200 ms. */
  serveRssMiB: number;
  /** This process: the MCP clients. */
  clientCpuPct: number;
  redisCpuPct: number;
  redisCmdsPerRoundTrip: number;
  /** CPU used by anything else on the machine: noise. */
  otherCpuPct: number;
}

const DRAIN_MS = 30_000;
const WARMUP_TIMEOUT_MS = 120_000;
let inFlight: (() => Promise<void>) | undefined;

/** Ends the run under way and removes what it made (on SIGINT). */
export async function abortMcpRun(): Promise<void> {
  await inFlight?.();
}

export const label = (s: McpScenario) => `${s.mode} ×${s.agents}`;

export async function runMcpScenario(setup: McpSetup, scenario: McpScenario): Promise<McpResult> {
  let serve: Serve | undefined;
  let agents: Agent[] = [];
  let loop: RoundTrips | undefined;
  const cleanup = async () => {
    loop?.abort();
    await closeAgents(agents);
    await serve?.stop();
  };
  inFlight = cleanup;
  try {
    serve = await startServe({ ...setup, label: label(scenario) });
    const log: CallRecord[] = [];
    agents = await connectAgents(serve.url, scenario.mode, scenario.agents, log);
    loop = new RoundTrips(agents);
    loop.start();
    await loop.waitReceived(setup.warmup, WARMUP_TIMEOUT_MS);

    const own = new rt.OwnCommands();
    const pid = serve.proc.pid;
    const before = await rt.snapshot(setup.admin, own);
    const [serveBefore, busyBefore, selfBefore] = [cpuMs(pid), machineBusyMs(), process.cpuUsage()];
    loop.openWindow();
    const t0 = performance.now();
    await delay(setup.seconds * 1000);
    loop.closeWindow();
    const windowMs = performance.now() - t0;
    const [serveUsed, busy, self] = [
      cpuMs(pid) - serveBefore,
      machineBusyMs() - busyBefore,
      process.cpuUsage(selfBefore),
    ];
    const after = await rt.snapshot(setup.admin, own);
    await loop.stop(DRAIN_MS);

    const selfMs = (self.user + self.system) / 1000;
    const redisMs = after.cpuMs - before.cpuMs;
    const commands = [...rt.callsBetween(before, after, own).values()].reduce((a, b) => a + b, 0);
    const t1 = t0 + windowMs;
    const inWindow = log.filter((c) => c.end >= t0 && c.end <= t1);
    const took = (tool: string) =>
      sorted(
        log
          .filter((c) => c.tool === tool && c.start >= t0 && c.start < t1)
          .map((c) => c.end - c.start),
      );
    const [latencies, sends, acks] = [
      sorted(loop.latencies),
      took("send_message"),
      took("ack_messages"),
    ];
    const pct = (ms: number) => (ms * 100) / windowMs;
    const result: McpResult = {
      ...scenario,
      roundTrips: latencies.length,
      roundTripsPerS: (latencies.length * 1000) / windowMs,
      p50Ms: rt.percentile(latencies, 0.5),
      p99Ms: rt.percentile(latencies, 0.99),
      maxMs: latencies[latencies.length - 1] ?? NaN,
      sendP50Ms: rt.percentile(sends, 0.5),
      sendP99Ms: rt.percentile(sends, 0.99),
      ackP50Ms: rt.percentile(acks, 0.5),
      ackP99Ms: rt.percentile(acks, 0.99),
      callsPerS: (inWindow.length * 1000) / windowMs,
      serveCpuPct: pct(serveUsed),
      serveCpuMsPerRoundTrip: serveUsed / Math.max(1, latencies.length),
      serveRssMiB: serve.proc.maxRssKiB / 1024,
      clientCpuPct: pct(selfMs),
      redisCpuPct: pct(redisMs),
      redisCmdsPerRoundTrip: commands / Math.max(1, latencies.length),
      otherCpuPct: Math.max(0, pct(busy - serveUsed - selfMs - redisMs)),
    };
    if (loop.foreign > 0) progress(`warning: ${loop.foreign} messages that were not ours`);
    progress(
      `${label(scenario)}: ${result.roundTrips} round trips, p50 ${ms(result.p50Ms)} ms, ` +
        `p99 ${ms(result.p99Ms)} ms, ${Math.round(result.callsPerS)} calls/s, ` +
        `serve CPU ${Math.round(result.serveCpuPct)}%, clients ${Math.round(result.clientCpuPct)}%, ` +
        `Redis ${Math.round(result.redisCpuPct)}%, other ${Math.round(result.otherCpuPct)}%`,
    );
    return result;
  } finally {
    await cleanup();
    inFlight = undefined;
  }
}

function sorted(values: number[]): number[] {
  return values.sort((a, b) => a - b);
}

/** Milliseconds to 2 decimals. */
export function ms(value: number): number {
  return Math.round(value * 100) / 100;
}
