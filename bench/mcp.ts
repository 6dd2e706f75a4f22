/**
 * `npm run bench -- --mcp`: the send → fetch round trip through MCP over HTTP, with one
 * real `switchboard serve` per run, 10 and 100 agents in 2025-11-25 sessions and 10 in
 * the stateless 2026-07-28 era. Called by bench/pipeline.ts (the `bench` script's entry).
 * Progress goes to stderr; the table (or, with --json, one JSON line) to stdout.
 */
import { loadPipeline } from "../src/config/pipeline.js";
import { connectRedis } from "../src/redis/connection.js";
import { provisionRedis } from "../src/redis/provision.js";
import type { BenchOptions } from "./args.js";
import * as mcpReport from "./mcp-report.js";
import { abortMcpRun, label, runMcpScenario, type McpResult, type McpScenario } from "./mcp-run.js";
import { failed, killAllNow, progress, quietBeforeMeasuring, stopOnSignals } from "./procs.js";
import { machineDetails, publish } from "./report.js";

/**
 * The v2 client's HTTP transport hands its one long-lived AbortSignal to every fetch, and
 * undici keeps a listener per request on it (raising its limit to 1500), so a client past
 * ~1500 calls makes Node warn on every further call. Say it once, keep other warnings.
 */
function warnListenersOnce(): void {
  let told = false;
  process.removeAllListeners("warning");
  process.on("warning", (warning) => {
    const listeners = warning.name === "MaxListenersExceededWarning";
    if (listeners && told) return;
    told ||= listeners;
    progress(`${warning.name}: ${warning.message}${listeners ? " (said once)" : ""}`);
  });
}

/** Runs the benchmark; returns the exit code. */
export async function runMcpBench(options: BenchOptions, argv: readonly string[]): Promise<number> {
  const [first = 10, ...rest] = options.mcpAgents;
  const scenarios: McpScenario[] = [
    { mode: "session", agents: first },
    { mode: "stateless", agents: first },
    ...rest.map((agents) => ({ mode: "session" as const, agents })),
  ];
  const pipeline = loadPipeline(process.env.SWITCHBOARD_PIPELINE || undefined);
  const redisAt = await provisionRedis({ log: progress });
  const admin = connectRedis(redisAt.url, "admin", "bench:admin");
  const setup = {
    url: redisAt.url,
    pipeline,
    admin,
    warmup: options.warmup,
    seconds: options.seconds,
  };

  process.on("exit", killAllNow);
  warnListenersOnce();
  stopOnSignals("stopping serve, closing the clients, removing this run's keys", abortMcpRun);

  try {
    const machine = await machineDetails(admin);
    const runs = new Map<McpScenario, McpResult[]>(scenarios.map((s) => [s, []]));
    for (let run = 1; run <= Math.max(1, options.runs); run += 1) {
      for (const scenario of scenarios) {
        await quietBeforeMeasuring(options.quietS);
        progress(`${label(scenario)}, run ${run}/${Math.max(1, options.runs)}`);
        runs.get(scenario)!.push(await runMcpScenario(setup, scenario));
      }
    }
    const report: mcpReport.McpReport = {
      date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      command: `npm run bench -- ${argv.join(" ")}`,
      machine,
      runs: Math.max(1, options.runs),
      seconds: options.seconds,
      warmup: options.warmup,
      results: scenarios.map((s) => mcpReport.combineMcp(runs.get(s)!)),
    };
    publish(options, {
      name: "mcp",
      jsonLine: () => mcpReport.mcpJsonLine(report),
      table: () => mcpReport.mcpTable(report),
      verdicts: () => mcpReport.mcpVerdicts(report),
      section: () => mcpReport.mcpSection(report),
    });
    return 0;
  } catch (error) {
    return failed(error);
  } finally {
    admin.disconnect();
    await redisAt.stop();
  }
}
