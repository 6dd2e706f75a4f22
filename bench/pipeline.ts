/**
 * `npm run bench`: messages through all four stages with 1 and 2 worker processes, against
 * the bare XREADGROUP/XADD/XACK ceiling on the same streams, plus a moderate fixed rate.
 * Progress goes to stderr; the table (or, with --json, one JSON line) to stdout.
 * With --mcp it measures the MCP send → fetch round trip instead (bench/mcp.ts); with
 * --mcp-calls, serve CPU per MCP call against a bare MCP server (bench/mcp-calls.ts); with --tracing,
 * the cost of tracing (bench/tracing.ts); with --failures, throughput to webhooks when 10% of
 * deliveries fail once, against none failing (bench/failures.ts); with --cluster, one Redis
 * against a 3-master Redis Cluster with 3 and 6 partitions (bench/cluster.ts); with --peers,
 * against the same hops as BullMQ and NATS JetStream chains (bench/peers.ts).
 */
import { loadPipeline } from "../src/config/pipeline.js";
import { connectRedis } from "../src/redis/connection.js";
import { provisionRedis } from "../src/redis/provision.js";
import { defineScripts } from "../src/app/scripts.js";
import { parseOptions, type BenchOptions } from "./args.js";
import { ensureBuilt } from "./build.js";
import { composeMessages } from "./load.js";
import { runScenario, type Result, type Scenario } from "./measure.js";
import { abortRun, agentsFor, type Setup } from "./run.js";
import { failed, killAllNow, progress, quietBeforeMeasuring, stopOnSignals } from "./procs.js";
import * as report from "./report.js";

const log = progress;

const argv = process.argv.slice(2);
let options: BenchOptions;
try {
  options = parseOptions(argv);
  if (options.build) ensureBuilt();
} catch (error) {
  log((error as Error).message);
  process.exit(1);
}
// `npm run bench -- --mcp`: the MCP round trip instead (bench/mcp.ts).
if (options.mcp) process.exit(await (await import("./mcp.js")).runMcpBench(options, argv));
// `npm run bench -- --mcp-calls`: serve CPU per MCP call, against a bare MCP server.
if (options.mcpCalls) {
  process.exit(await (await import("./mcp-calls.js")).runMcpCallsBench(options, argv));
}
// `npm run bench -- --failures`: a tenth of webhook deliveries failing once, against none.
if (options.failures) {
  process.exit(await (await import("./failures.js")).runFailuresBench(options, argv));
}
// `npm run bench -- --cluster`: one Redis against a 3-master cluster with 3 and 6 partitions.
if (options.cluster) {
  process.exit(await (await import("./cluster.js")).runClusterBench(options, argv));
}
// `npm run bench -- --peers`: the same four hops as BullMQ and NATS JetStream chains.
if (options.peers) {
  process.exit(await (await import("./peers.js")).runPeersBench(options, argv));
}
const pipeline = loadPipeline(process.env.SWITCHBOARD_PIPELINE || undefined);
const redisAt = await provisionRedis({ log });
const admin = defineScripts(connectRedis(redisAt.url, "admin", "bench:admin"));
const producer = connectRedis(redisAt.url, "admin", "bench:producer");

process.on("exit", killAllNow);
stopOnSignals("stopping the workers and removing this run's keys", abortRun);

/** Runs a scenario once the machine is quiet (or the wait ran out). */
async function measure(scenario: Scenario): Promise<Result> {
  await quietBeforeMeasuring(options.quietS);
  return runScenario(setup, scenario);
}

const setup: Setup = {
  target: { kind: "single", url: redisAt.url },
  pipeline,
  admin,
  producer,
  agents: agentsFor(options, pipeline),
  timeoutMs: options.timeoutS * 1000,
};

async function close(): Promise<void> {
  admin.disconnect();
  producer.disconnect();
  await redisAt.stop();
}

// `npm run bench -- --tracing`: the same runs with tracing off, at 1% and at 100% (bench/tracing.ts).
if (options.tracing) {
  const { runTracingBench } = await import("./tracing.js");
  process.exit(await runTracingBench({ options, argv, setup, measure }).finally(close));
}

let exitCode = 0;
try {
  const machine = await report.machineDetails(admin);
  const saturating = options.runs > 0 && options.workers.length > 0;
  log(`composing ${saturating ? options.messages : 0} + ${options.warmup} messages`);
  const messages = saturating
    ? composeMessages(options.messages, setup.agents, options.bodyBytes, "m")
    : [];
  const warmup = composeMessages(options.warmup, setup.agents, options.bodyBytes, "w");

  const saturated: report.Saturated[] = [];
  for (const workers of options.workers) {
    const ours: Result[] = [];
    const bare: Result[] = [];
    for (let run = 1; run <= options.runs; run += 1) {
      const label = (kind: string) => `${kind} ×${workers}, run ${run}/${options.runs}`;
      ours.push(await measure({ kind: "ours", workers, messages, warmup, label: label("ours") }));
      bare.push(await measure({ kind: "bare", workers, messages, warmup, label: label("bare") }));
    }
    if (options.runs > 0) {
      saturated.push({ workers, ours: report.combine(ours), bare: report.combine(bare) });
    }
  }

  let moderate: Result | undefined;
  if (options.rate > 0) {
    const count = options.rate * options.seconds;
    const paced = composeMessages(count, setup.agents, options.bodyBytes, "r");
    const label = `ours ×1 at ${options.rate}/s for ${options.seconds} s`;
    moderate = await measure({
      kind: "ours",
      workers: 1,
      messages: paced,
      warmup,
      rate: options.rate,
      label,
    });
  }

  const result: report.Report = {
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    command: `npm run bench${argv.length > 0 ? ` -- ${argv.join(" ")}` : ""}`,
    machine,
    messages: options.messages,
    runs: options.runs,
    bodyBytes: options.bodyBytes,
    agents: setup.agents,
    batchSize: pipeline.stages.validate.batchSize,
    saturated,
    moderate,
  };
  report.publish(options, {
    name: "pipeline",
    jsonLine: () => report.jsonLine(result),
    table: () => report.table(result),
    verdicts: () => report.verdicts(result),
    section: () => report.section(result),
  });
} catch (error) {
  exitCode = failed(error);
} finally {
  await close();
}
process.exit(exitCode);
