import { Option, type Command } from "commander";
import {
  MAX_CONCURRENCY,
  STAGE_NAMES,
  type Pipeline,
  type StageName,
} from "../../config/pipeline.js";
import { workerProbes } from "../../health/probes.js";
import { startProbeServer } from "../../health/server.js";
import { parsePartitionList } from "../../streams/partitions.js";
import { listenError, usageError } from "../errors.js";
import { runStagesUntilSignal, shutdownTimeoutOption, type FrontEnd } from "../lifecycle.js";
import { globalOptions, integerBetween, splitList, withExamples } from "../options.js";
import { openRuntime, type Runtime } from "../runtime.js";
import { DEFAULT_HOST, portNumber } from "./serve.js";

interface WorkerCommandOptions {
  stages: string;
  partitions?: string;
  concurrency?: number;
  shutdownTimeoutMs: number;
  metricsPort?: number;
  metricsHost: string;
}

/** `switchboard worker`: any subset of the stages, for scaling stages apart. */
export function registerWorker(program: Command): void {
  const command = program
    .command("worker")
    .description("run some of the stages in this process (default: all of them)")
    .addOption(
      new Option("--stages <list>", `comma-separated stages to run, of ${STAGE_NAMES.join(", ")}`)
        .default(STAGE_NAMES.join(","))
        .env("SWITCHBOARD_STAGES"),
    )
    .addOption(
      new Option(
        "--partitions <list>",
        "comma-separated partitions to work, such as 0,2 (default: every one of the pipeline's)",
      ).env("SWITCHBOARD_PARTITIONS"),
    )
    .addOption(
      new Option(
        "--concurrency <n>",
        `consumer loops per chosen stage (1-${MAX_CONCURRENCY}), overriding the pipeline file`,
      )
        .argParser(integerBetween(1, MAX_CONCURRENCY))
        .env("SWITCHBOARD_CONCURRENCY"),
    )
    .addOption(
      new Option(
        "--metrics-port <port>",
        "serve /metrics, /healthz and /readyz on this port (0: any free one)",
      )
        .argParser(portNumber)
        .env("SWITCHBOARD_METRICS_PORT"),
    )
    .addOption(
      new Option(
        "--metrics-host <address>",
        "address of the --metrics-port server; 0.0.0.0 lets a Prometheus elsewhere scrape it",
      )
        .default(DEFAULT_HOST)
        .env("SWITCHBOARD_METRICS_HOST"),
    )
    .addOption(shutdownTimeoutOption())
    .addHelpText(
      "after",
      "\nSIGINT or SIGTERM stops gracefully (exit 0, or 1 when the shutdown timeout runs out);\n" +
        "a second signal exits at once. Any number of workers may run the same stages.",
    )
    .action(runWorker);
  withExamples(command, [
    "switchboard worker --stages validate,route",
    "switchboard worker --stages deliver --concurrency 4",
    "switchboard worker --partitions 0,2",
    "switchboard worker --metrics-port 9464 --metrics-host 0.0.0.0",
  ]);
}

async function runWorker(options: WorkerCommandOptions, command: Command): Promise<void> {
  const stages = parseStages(options.stages);
  const runtime = await openRuntime(globalOptions(command), { longRunning: true });
  const { metricsHost, metricsPort } = options;
  let partitions: number[] | undefined;
  try {
    if (options.partitions !== undefined)
      partitions = parsePartitionList(options.partitions, runtime.pipeline.partitions);
  } catch (error) {
    await runtime.close();
    throw error;
  }
  await runStagesUntilSignal(runtime, {
    stages,
    partitions,
    pipeline: withConcurrency(runtime.pipeline, stages, options.concurrency),
    shutdownTimeoutMs: options.shutdownTimeoutMs,
    probes:
      metricsPort === undefined
        ? undefined
        : () => startProbes(runtime, stages, metricsHost, metricsPort),
  });
}

/** `--metrics-port`: this worker's metrics, and readiness while its stages run. */
async function startProbes(
  runtime: Runtime,
  stages: readonly StageName[],
  host: string,
  port: number,
): Promise<FrontEnd> {
  const probes = workerProbes(runtime, stages, runtime.log);
  const server = await startProbeServer({
    host,
    port,
    probes,
    limits: runtime.pipeline.http,
    log: runtime.log,
  }).catch((error: unknown) => {
    throw listenError(error, {
      host,
      port,
      portOption: "--metrics-port (SWITCHBOARD_METRICS_PORT)",
      hostOption: "--metrics-host (SWITCHBOARD_METRICS_HOST)",
    });
  });
  runtime.log.info("metrics listening", { url: `${server.url}/metrics` });
  return { stop: () => server.close() };
}

/** `validate,route` → the stages, in pipeline order; an unknown name lists the valid ones. */
export function parseStages(list: string): StageName[] {
  const names = splitList(list);
  const unknown = names.filter((name) => !(STAGE_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw usageError(
      `unknown stage ${unknown.map((n) => `'${n}'`).join(", ")} in --stages; the stages are ${STAGE_NAMES.join(", ")}`,
      "--stages",
    );
  }
  if (names.length === 0) {
    throw usageError(
      `--stages names no stage; the stages are ${STAGE_NAMES.join(", ")}`,
      "--stages",
    );
  }
  return STAGE_NAMES.filter((name) => names.includes(name));
}

/** A copy of the pipeline with the chosen stages' concurrency replaced (the original is frozen). */
export function withConcurrency(
  pipeline: Pipeline,
  stages: readonly StageName[],
  concurrency: number | undefined,
): Pipeline {
  if (concurrency === undefined) return pipeline;
  const adjusted = { ...pipeline.stages };
  for (const name of stages) adjusted[name] = { ...adjusted[name], concurrency };
  return Object.freeze({ ...pipeline, stages: Object.freeze(adjusted) });
}
