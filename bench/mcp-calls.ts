/**
 * `npm run bench -- --mcp-calls`: what the MCP front end costs per call. 10 v2 clients call
 * `heartbeat`, then `send_message` (agent i to agent i+1), closed-loop, in each era, against
 * one `switchboard serve` and against a bare MCP server (bench/bare-mcp-server.ts), the
 * two interleaved in every run. Called by bench/pipeline.ts (the `bench` script's entry).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadPipeline } from "../src/config/pipeline.js";
import { connectRedis } from "../src/redis/connection.js";
import { provisionRedis } from "../src/redis/provision.js";
import type { BenchOptions } from "./args.js";
import { closeAgents, connectAgents, call, type CallRecord, type Mode } from "./mcp-agents.js";
import * as callsReport from "./mcp-calls-report.js";
import { startServe } from "./mcp-serve.js";
import { writePipelineWith } from "./pipeline-file.js";
import * as procs from "./procs.js";
import { machineDetails, publish } from "./report.js";
import { inTurn } from "./run.js";

const AGENTS = 10;
const WARMUP_MS = 1000;
const MODES: readonly Mode[] = ["session", "stateless"];
const TOOLS = ["heartbeat", "send_message"] as const;
/** e.g. a build of the previous commit, measured as a third server: before and after in one run. */
const BASELINE_BIN = process.env.BENCH_BASELINE_BIN || undefined;
const SERVERS: readonly callsReport.Server[] =
  BASELINE_BIN === undefined ? ["switchboard", "bare"] : ["switchboard", "baseline", "bare"];
const BARE = new URL("./bare-mcp-server.ts", import.meta.url).pathname;

/** A server under test: its MCP endpoint and process. */
interface Target {
  url: URL;
  proc: procs.Proc;
  stop(): Promise<void>;
}

const argsOf = (tool: string, i: number) =>
  tool === "heartbeat" ? {} : { to: [`agent-${(i + 1) % AGENTS}`], body: { n: i } };

/** Every agent calls `tool` back to back until `untilMs`. */
async function loop(
  agents: Awaited<ReturnType<typeof connectAgents>>,
  tool: string,
  untilMs: number,
) {
  await Promise.all(
    agents.map(async (agent, i) => {
      while (performance.now() < untilMs) await call(agent, tool, argsOf(tool, i));
    }),
  );
}

/** One window of one tool: calls/s, the server's CPU per call, call latency. */
async function window(
  target: Target,
  agents: Awaited<ReturnType<typeof connectAgents>>,
  log: CallRecord[],
  tool: string,
  seconds: number,
): Promise<callsReport.Figures> {
  await loop(agents, tool, performance.now() + WARMUP_MS);
  const from = log.length;
  const cpu0 = procs.cpuMs(target.proc.pid);
  const t0 = performance.now();
  await loop(agents, tool, t0 + seconds * 1000);
  const elapsedS = (performance.now() - t0) / 1000;
  const cpu = procs.cpuMs(target.proc.pid) - cpu0;
  procs.assertAlive([target.proc]);
  const durations = log
    .slice(from)
    .map((r) => r.end - r.start)
    .sort((a, b) => a - b);
  const at = (q: number) =>
    durations[Math.min(durations.length - 1, Math.floor(q * durations.length))]!;
  return {
    calls: durations.length,
    callsPerS: durations.length / elapsedS,
    cpuMsPerCall: cpu / durations.length,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
  };
}

/** 10 agents in `mode` on a fresh server, each tool measured in turn. */
async function measureTools(
  target: Target,
  mode: Mode,
  options: BenchOptions,
  label: string,
): Promise<[string, callsReport.Figures][]> {
  const log: CallRecord[] = [];
  const agents = await connectAgents(target.url, mode, AGENTS, log);
  try {
    const measured: [string, callsReport.Figures][] = [];
    for (const tool of TOOLS) {
      await procs.quietBeforeMeasuring(options.quietS);
      procs.progress(`${label}: ${tool}`);
      measured.push([tool, await window(target, agents, log, tool, options.seconds)]);
    }
    return measured;
  } finally {
    await closeAgents(agents);
  }
}

async function startBare(label: string): Promise<Target> {
  const port = await procs.freePort();
  const proc = procs.spawnProc(label, ["--import", "tsx", BARE], {
    ...process.env,
    PORT: String(port),
  });
  const url = new URL(`http://127.0.0.1:${port}/mcp`);
  const stop = async () => void (await procs.stopProc(proc));
  try {
    await procs.waitAnswering(proc, new URL("/healthz", url), 30_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, proc, stop };
}

/** Runs the benchmark; returns the exit code. */
export async function runMcpCallsBench(
  options: BenchOptions,
  argv: readonly string[],
): Promise<number> {
  const redisAt = await provisionRedis({ log: procs.progress });
  const admin = connectRedis(redisAt.url, "admin", "bench:admin");
  const dir = mkdtempSync(join(tmpdir(), "bench-mcp-calls-"));
  // Ten inboxes take every message sent, and no agent is held to the send rate.
  const file = writePipelineWith(dir, "pipeline.yaml", [
    [["inbox", "quota"], 100_000_000],
    [["limits", "sendRate"], { perSecond: 1_000_000, burst: 1_000_000 }],
  ]);
  const pipeline = loadPipeline(file);
  const env = { SWITCHBOARD_PIPELINE: file };
  let current: Target | undefined;
  process.on("exit", procs.killAllNow);
  procs.stopOnSignals("stopping the servers, removing this run's keys", async () => {
    await current?.stop();
  });
  const runs = Math.max(1, options.runs);
  const seen = new Map<string, callsReport.Figures[]>();
  try {
    const machine = await machineDetails(admin);
    for (let run = 1; run <= runs; run += 1) {
      for (const mode of MODES) {
        for (const server of inTurn(SERVERS, run)) {
          const label = `${server} ${mode} ${run}/${runs}`;
          current =
            server === "bare"
              ? await startBare(label)
              : await startServe({
                  ...{ url: redisAt.url, admin, pipeline, label, env },
                  bin: server === "baseline" ? BASELINE_BIN : undefined,
                });
          try {
            for (const [tool, figures] of await measureTools(current, mode, options, label)) {
              const key = callsReport.keyOf({ server, mode, tool });
              seen.set(key, [...(seen.get(key) ?? []), figures]);
            }
          } finally {
            await current.stop();
            current = undefined;
          }
        }
      }
    }
    const report: callsReport.CallsReport = {
      date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      command: `${BASELINE_BIN === undefined ? "" : `BENCH_BASELINE_BIN=${BASELINE_BIN} `}npm run bench -- ${argv.join(" ")}`,
      machine,
      runs,
      seconds: options.seconds,
      rows: callsReport.rowsOf(seen, MODES, TOOLS),
      baseline: BASELINE_BIN !== undefined,
    };
    publish(options, {
      name: "mcp-calls",
      jsonLine: () => callsReport.callsJsonLine(report),
      table: () => callsReport.callsTable(report),
      verdicts: () => callsReport.callsVerdicts(report),
      section: () => callsReport.callsSection(report),
    });
    return 0;
  } catch (error) {
    return procs.failed(error);
  } finally {
    admin.disconnect();
    rmSync(dir, { recursive: true, force: true });
    await redisAt.stop();
  }
}
