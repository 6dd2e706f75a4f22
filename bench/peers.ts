/**
 * `npm run bench -- --peers`: the same messages through the same four hops (validate →
 * route → deliver → persist) in Switchboard and in two peers built the way their users
 * would: a BullMQ queue per hop (bench/peer-bullmq.ts) and a NATS JetStream stream and pull
 * consumer per hop (bench/peer-jetstream.ts; skipped, with the reason, when no NATS server
 * with JetStream answers). One worker process each, the three interleaved in every run in
 * a rotating order; prints Switchboard's throughput as a multiple of each peer's.
 * Called by bench/pipeline.ts. Progress goes to stderr; the table (or, with --json, one
 * JSON line) to stdout.
 */
import { defineScripts } from "../src/app/scripts.js";
import { loadPipeline } from "../src/config/pipeline.js";
import { connectRedis } from "../src/redis/connection.js";
import { provisionRedis } from "../src/redis/provision.js";
import type { BenchOptions } from "./args.js";
import { composeMessages } from "./load.js";
import { runScenario } from "./measure.js";
import { bullmqChain } from "./peer-bullmq.js";
import { connectJetStream, jetStreamChain, NATS_URL } from "./peer-jetstream.js";
import {
  abortChain,
  fromSwitchboard,
  measureChain,
  type Chain,
  type ChainResult,
} from "./peer-measure.js";
import * as peersReport from "./peers-report.js";
import { failed, killAllNow, progress, quietBeforeMeasuring, stopOnSignals } from "./procs.js";
import { machineDetails, publish } from "./report.js";
import { abortRun, agentsFor, inTurn, type Setup } from "./run.js";

/** Runs the benchmark; returns the exit code. */
export async function runPeersBench(
  options: BenchOptions,
  argv: readonly string[],
): Promise<number> {
  const pipeline = loadPipeline(process.env.SWITCHBOARD_PIPELINE || undefined);
  const redisAt = await provisionRedis({ log: progress });
  const admin = defineScripts(connectRedis(redisAt.url, "admin", "bench:admin"));
  const producer = connectRedis(redisAt.url, "admin", "bench:producer");
  const nats = await connectJetStream(NATS_URL);
  const close = async () => {
    admin.disconnect();
    producer.disconnect();
    if (typeof nats !== "string") await nats.close();
    await redisAt.stop();
  };
  process.on("exit", killAllNow);
  stopOnSignals("stopping the workers, removing this run's keys and streams", () =>
    abortRun().then(abortChain).finally(close),
  );
  try {
    const agents = agentsFor({ ...options, rate: 0 }, pipeline);
    const setup: Setup = {
      target: { kind: "single", url: redisAt.url },
      pipeline,
      admin,
      producer,
      agents,
      timeoutMs: options.timeoutS * 1000,
    };
    const peers: Chain[] = [bullmqChain(setup, redisAt.url)];
    if (typeof nats === "string") progress(`NATS JetStream skipped: ${nats}`);
    else peers.push(jetStreamChain(nats));
    const machine = await machineDetails(admin);
    const runs = Math.max(1, options.runs);
    progress(`composing ${options.messages} + ${options.warmup} messages`);
    const messages = composeMessages(options.messages, agents, options.bodyBytes, "m");
    const warmup = composeMessages(options.warmup, agents, options.bodyBytes, "w");
    const cases = [{ key: "switchboard", name: "Switchboard, 1 worker" }, ...peers];
    const results = new Map<string, ChainResult[]>(cases.map((c) => [c.key, []]));
    for (let run = 1; run <= runs; run += 1) {
      for (const c of inTurn(cases, run)) {
        await quietBeforeMeasuring(options.quietS);
        const label = `${c.name}, run ${run}/${runs}`;
        const scenario = { messages, warmup, label };
        const result =
          "open" in c
            ? await measureChain(setup, c, scenario)
            : fromSwitchboard(await runScenario(setup, { ...scenario, kind: "ours", workers: 1 }));
        results.get(c.key)!.push(result);
      }
    }
    const report: peersReport.PeersReport = {
      date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      command: `npm run bench -- ${argv.join(" ")}`,
      machine,
      nats: typeof nats === "string" ? { skipped: nats } : { version: nats.info?.version ?? "?" },
      messages: options.messages,
      runs,
      bodyBytes: options.bodyBytes,
      agents,
      rows: cases.map((c) => ({
        key: c.key,
        name: c.name,
        result: peersReport.combineChains(results.get(c.key)!),
      })),
    };
    publish(options, {
      name: "peers",
      jsonLine: () => peersReport.jsonLine(report),
      table: () => peersReport.table(report),
      verdicts: () => peersReport.verdicts(report),
      section: () => peersReport.section(report),
    });
    return 0;
  } catch (error) {
    return failed(error);
  } finally {
    await close();
  }
}
