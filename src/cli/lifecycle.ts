import { Option } from "commander";
import type { Pipeline, StageName } from "../config/pipeline.js";
import { Worker } from "../app/worker.js";
import { Switchboard } from "../service/switchboard.js";
import { toErrorInfo } from "../protocol/errors.js";
import { STAGE_FACTORIES } from "../stages/index.js";
import type { Logger } from "../telemetry/log.js";
import { startTracing, stopTracing } from "../telemetry/tracing.js";
import { EXIT_FAILURE, usageError } from "./errors.js";
import { positiveInteger } from "./options.js";
import type { Runtime } from "./runtime.js";
import { checkPartitionCount } from "../streams/partitions.js";

export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;

/** `--shutdown-timeout-ms`, shared by every command that runs stages. */
export function shutdownTimeoutOption(): Option {
  return new Option(
    "--shutdown-timeout-ms <ms>",
    "how long a graceful stop may take before the process exits with code 1",
  )
    .argParser(positiveInteger)
    .default(DEFAULT_SHUTDOWN_TIMEOUT_MS)
    .env("SWITCHBOARD_SHUTDOWN_TIMEOUT_MS");
}

const NO_WORKERS_VARIABLE = "SWITCHBOARD_NO_WORKERS";

/** `--no-workers`; SWITCHBOARD_NO_WORKERS=1 does the same. */
export function noWorkersOption(description: string): Option {
  return new Option("--no-workers", `${description}; the variable takes 1`).env(
    NO_WORKERS_VARIABLE,
  );
}

/**
 * Commander takes a boolean option's variable as set whatever its value, so
 * SWITCHBOARD_NO_WORKERS=false would turn the workers off: only 1, true or yes are taken.
 */
export function checkNoWorkersVariable(env: NodeJS.ProcessEnv = process.env): void {
  checkSwitchVariable(NO_WORKERS_VARIABLE, "run no workers", "run them", env);
}

/** Refuses a `--no-…` option's variable unless it is 1, true or yes (see above). */
export function checkSwitchVariable(
  variable: string,
  setMeans: string,
  unsetMeans: string,
  env: NodeJS.ProcessEnv = process.env,
): void {
  const value = env[variable];
  if (value !== undefined && !/^(1|true|yes)$/i.test(value.trim())) {
    throw usageError(
      `${variable}=${JSON.stringify(value)} is not 1: set it to 1 to ${setMeans}, or unset it to ${unsetMeans}`,
      variable,
    );
  }
}

export interface RunStagesOptions {
  /** The stages to run in this process; none runs no worker. */
  stages: readonly StageName[];
  /** The pipeline to run, possibly adjusted from the runtime's (such as `--concurrency`). */
  pipeline: Pipeline;
  /** The partitions to work (`worker --partitions`); all of the pipeline's when omitted. */
  partitions?: readonly number[] | undefined;
  shutdownTimeoutMs: number;
  /** Started before the stages and stopped first: `worker --metrics-port`'s probe server. */
  probes?: () => Promise<FrontEnd>;
}

/**
 * The share of `--shutdown-timeout-ms` a front end may spend draining (requests under way
 * finishing); the rest is for the worker's in-flight batches.
 */
export const DRAIN_SHARE = 0.5;

/** What serves agents (MCP over HTTP or stdio), started on the process's one service. */
export interface FrontEnd {
  /** Resolves when the front end ends by itself (a stdio client closed stdin). */
  ended?: Promise<string>;
  /**
   * Stops taking new work, lets what is under way finish for up to `drainMs` (long polls
   * return what they have), then closes.
   */
  stop(drainMs: number): Promise<void>;
}

export interface RunOptions extends RunStagesOptions {
  /** Starts the front end on the service built from the runtime. */
  frontEnd?: (service: Switchboard) => Promise<FrontEnd>;
}

/**
 * Runs stages until SIGINT or SIGTERM, then stops them gracefully within the bound and closes
 * the runtime (which stops a spawned Redis after the worker). Exit code 0 after a clean stop,
 * 1 when the bound ran out; a second signal exits at once.
 */
export function runStagesUntilSignal(runtime: Runtime, options: RunStagesOptions): Promise<void> {
  return runUntilStopped(runtime, options);
}

/**
 * Runs the stages and a front end until a signal (or the front end ending), then stops the
 * front end, the worker and the service, within the bound, and closes the runtime.
 */
export async function runUntilStopped(runtime: Runtime, options: RunOptions): Promise<void> {
  const { log } = runtime;
  await startTracing(log, { stages: options.stages, frontEnd: options.frontEnd !== undefined });
  const signals = listenForSignals(log);
  const parts = new Parts(runtime, options);
  try {
    await parts.start();
  } catch (error) {
    signals.dispose();
    await settlesWithin(parts.stop(), options.shutdownTimeoutMs, log);
    await runtime.close();
    await stopTracing(log);
    throw error;
  }
  log.info("running; send SIGINT or SIGTERM to stop", {
    stages: options.stages,
    prefix: runtime.keys.prefix,
    pipeline: options.pipeline.source,
  });
  const reason = await Promise.race([signals.first, parts.ended]);
  log.info("stopping", { signal: reason, timeoutMs: options.shutdownTimeoutMs });
  const stopped = await settlesWithin(parts.stop(), options.shutdownTimeoutMs, log);
  await runtime.close();
  await stopTracing(log); // the last spans, within FLUSH_TIMEOUT_MS
  signals.dispose();
  if (!stopped) {
    log.error("did not stop in time; exiting", { timeoutMs: options.shutdownTimeoutMs });
    process.exit(EXIT_FAILURE);
  }
}

/** The worker, the service and the front end of a process, started and stopped in order. */
class Parts {
  readonly #runtime: Runtime;
  readonly #options: RunOptions;
  #worker: Worker | undefined;
  #service: Switchboard | undefined;
  #frontEnd: FrontEnd | undefined;
  #probes: FrontEnd | undefined;

  constructor(runtime: Runtime, options: RunOptions) {
    this.#runtime = runtime;
    this.#options = options;
  }

  /** Resolves when the front end ends by itself; never without one. */
  get ended(): Promise<string> {
    return this.#frontEnd?.ended ?? new Promise<string>(() => undefined);
  }

  /**
   * Ports first: the probe server and the front end bind before any stage starts, so a port
   * in use stops the process before it has taken work (and says which option to change).
   */
  async start(): Promise<void> {
    const { target, redis, keys, log } = this.#runtime;
    const { stages, pipeline, partitions, frontEnd } = this.#options;
    // Before any message is taken: a front end and workers must agree on the layout.
    await checkPartitionCount(redis, keys, pipeline);
    this.#probes = await this.#options.probes?.();
    if (frontEnd !== undefined) {
      this.#service = new Switchboard({ target, redis, keys, pipeline, log });
      this.#service.startSweeper();
      this.#frontEnd = await frontEnd(this.#service);
    }
    if (stages.length > 0) {
      const worker = new Worker({
        target,
        redis,
        keys,
        pipeline,
        stages,
        partitions,
        factories: STAGE_FACTORIES,
        log,
      });
      await worker.start();
      this.#worker = worker;
    }
  }

  /**
   * Front end first (no new work; requests under way finish within its share of the
   * bound), then the worker (in-flight batches commit), then the service.
   */
  async stop(): Promise<void> {
    const drainMs = Math.floor(this.#options.shutdownTimeoutMs * DRAIN_SHARE);
    try {
      await this.#probes?.stop(drainMs);
      await this.#frontEnd?.stop(drainMs);
    } finally {
      try {
        await this.#worker?.stop();
      } finally {
        this.#service?.close();
      }
    }
  }
}

interface SignalListener {
  /** The first SIGINT or SIGTERM. */
  first: Promise<NodeJS.Signals>;
  dispose(): void;
}

/** The first signal resolves `first`; a second one exits the process at once. */
function listenForSignals(log: Logger): SignalListener {
  let received = 0;
  let resolveFirst: (signal: NodeJS.Signals) => void = () => undefined;
  const first = new Promise<NodeJS.Signals>((resolve) => (resolveFirst = resolve));
  const onSignal = (signal: NodeJS.Signals): void => {
    received += 1;
    if (received === 1) {
      resolveFirst(signal);
      return;
    }
    log.warn("second signal; exiting now without waiting", { signal });
    process.exit(EXIT_FAILURE);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    first,
    dispose: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}

/** True when `promise` fulfils within `ms`; false when it rejects or the time runs out. */
async function settlesWithin(promise: Promise<void>, ms: number, log: Logger): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const done = promise.then(
    () => true,
    (error: unknown) => {
      log.error("failed to stop", { error: toErrorInfo(error) });
      return false;
    },
  );
  try {
    return await Promise.race([done, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
