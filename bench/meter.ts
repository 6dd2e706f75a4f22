import type { RedisClient } from "../src/redis/client.js";
import { cpuMs, machineBusyMs, progress, type Proc } from "./procs.js";
import * as rt from "./redis-tools.js";

/** What a measurement window used. */
export interface Usage {
  windowMs: number;
  /** Redis calls by `INFO commandstats` name, Lua-internal included, the benchmark's own excluded. */
  calls: Map<string, number>;
  redisCpuMs: number;
  /** Reads from client sockets, all masters (the benchmark's own polling included). */
  redisReads: number;
  /** Each master's share of `redisCpuMs`, by `host:port`. */
  redisCpuMsByNode: Map<string, number>;
  /** CPU time (user + system) of each metered process over the window, ms. */
  cpuMs: Map<Pick<Proc, "pid">, number>;
  /** CPU used by anything but Redis, the metered processes and this one, % of one core: noise. */
  otherCpuPct: number;
}

/** The cost figures every benchmark result reports, per measured message. */
export interface Costs {
  /** Redis commands per message, Lua-internal calls included, the benchmark's own excluded. */
  commandsPerMsg: number;
  commandsByName: Record<string, number>;
  /** Socket reads Redis processed per message: fewer than commands when they come pipelined. */
  redisReadsPerMsg: number;
  redisCpuUsPerMsg: number;
  /** Redis CPU per message on each master (one entry for one Redis), by `host:port`. */
  redisCpuUsPerMsgByNode: Record<string, number>;
  workerCpuUsPerMsg: number;
  /** Largest RSS of any one worker process, MiB. */
  maxRssMiB: number;
  /** CPU used by anything but Redis, the benchmark's processes and itself, % of one core. */
  otherCpuPct: number;
}

/**
 * Opens a measurement window over Redis (commands, CPU), the given processes and the
 * machine; `stop` closes it. `own` must count every command the benchmark sends meanwhile.
 */
export async function startMeter(
  admin: RedisClient,
  procs: readonly Pick<Proc, "pid">[],
  own: rt.OwnCommands,
): Promise<{ stop(label: string): Promise<Usage> }> {
  const before = await rt.snapshot(admin, own);
  const cpuBefore = procs.map((p) => cpuMs(p.pid));
  const busyBefore = machineBusyMs();
  const selfBefore = process.cpuUsage();
  const t0 = performance.now();
  return {
    async stop(label) {
      const windowMs = performance.now() - t0;
      const used = new Map(procs.map((p, i) => [p, cpuMs(p.pid) - cpuBefore[i]!]));
      const self = process.cpuUsage(selfBefore);
      const busy = machineBusyMs() - busyBefore;
      const after = await rt.snapshot(admin, own);
      const redisCpuMs = after.cpuMs - before.cpuMs;
      const known =
        redisCpuMs +
        [...used.values()].reduce((a, b) => a + b, 0) +
        (self.user + self.system) / 1000;
      const otherCpuPct = Math.max(0, ((busy - known) * 100) / windowMs);
      if (otherCpuPct > 15) {
        progress(
          `warning: other processes used ${Math.round(otherCpuPct)}% of a core during ${label}; figures are noisy`,
        );
      }
      const calls = rt.callsBetween(before, after, own);
      const redisCpuMsByNode = new Map(
        [...after.cpuMsByNode].map(([node, ms]) => [
          node,
          ms - (before.cpuMsByNode.get(node) ?? 0),
        ]),
      );
      const redisReads = after.reads - before.reads;
      return {
        windowMs,
        calls,
        redisCpuMs,
        redisCpuMsByNode,
        redisReads,
        cpuMs: used,
        otherCpuPct,
      };
    },
  };
}

/** A window's usage per measured message; `workers` are the processes whose CPU and RSS count. */
export function costsOf(usage: Usage, messages: number, workers: readonly Proc[]): Costs {
  const total = [...usage.calls.values()].reduce((a, b) => a + b, 0);
  const byName = [...usage.calls]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => [k, round(v / messages)] as const)
    .filter(([, perMsg]) => perMsg > 0);
  const workerMs = workers.reduce((sum, p) => sum + (usage.cpuMs.get(p) ?? 0), 0);
  return {
    commandsPerMsg: total / messages,
    commandsByName: Object.fromEntries(byName),
    redisReadsPerMsg: usage.redisReads / messages,
    redisCpuUsPerMsg: (usage.redisCpuMs * 1000) / messages,
    redisCpuUsPerMsgByNode: Object.fromEntries(
      [...usage.redisCpuMsByNode].map(([node, ms]) => [node, (ms * 1000) / messages]),
    ),
    workerCpuUsPerMsg: (workerMs * 1000) / messages,
    maxRssMiB: Math.max(...workers.map((p) => p.maxRssKiB)) / 1024,
    otherCpuPct: usage.otherCpuPct,
  };
}

/** Medians of the cost figures across runs, but RSS and other load: the largest seen. */
export function combineCosts(runs: readonly Costs[]): Costs {
  if (runs.length === 0) throw new Error("no runs to combine");
  const m = (pick: (r: Costs) => number) => rt.median(runs.map(pick));
  return {
    commandsPerMsg: m((r) => r.commandsPerMsg),
    commandsByName: Object.fromEntries(
      [...new Set(runs.flatMap((r) => Object.keys(r.commandsByName)))]
        .map((name) => [name, m((r) => r.commandsByName[name] ?? 0)] as const)
        .sort((a, b) => b[1] - a[1]),
    ),
    redisReadsPerMsg: m((r) => r.redisReadsPerMsg),
    redisCpuUsPerMsg: m((r) => r.redisCpuUsPerMsg),
    redisCpuUsPerMsgByNode: Object.fromEntries(
      Object.keys(runs[0]!.redisCpuUsPerMsgByNode).map(
        (node) => [node, m((r) => r.redisCpuUsPerMsgByNode[node] ?? 0)] as const,
      ),
    ),
    workerCpuUsPerMsg: m((r) => r.workerCpuUsPerMsg),
    maxRssMiB: Math.max(...runs.map((r) => r.maxRssMiB)),
    otherCpuPct: Math.max(...runs.map((r) => r.otherCpuPct)),
  };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
