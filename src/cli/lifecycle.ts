import { Option } from "commander";
import type { Pipeline, StageName } from "../config/pipeline.js";
import { Worker } from "../pipeline/worker.js";
import { toErrorInfo } from "../protocol/errors.js";
import { STAGE_FACTORIES } from "../stages/index.js";
import type { Logger } from "../telemetry/log.js";
import { EXIT_FAILURE } from "./errors.js";
import { positiveInteger } from "./options.js";
import type { Runtime } from "./runtime.js";

export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;

/** `--shutdown-timeout-ms`, shared by every command that runs stages. */
export function shutdownTimeoutOption(): Option {
  return new Option(
    "--shutdown-timeout-ms <ms>",
    "how long a graceful stop may take before the process exits with code 1",
  )
    .argParser(positiveInteger)
    .default(DEFAULT_SHUTDOWN_TIMEOUT_MS);
}

export interface RunStagesOptions {
  stages: readonly StageName[];
  /** The pipeline to run, possibly adjusted from the runtime's (such as `--concurrency`). */
  pipeline: Pipeline;
  shutdownTimeoutMs: number;
}

/**
 * Runs stages until SIGINT or SIGTERM, then stops them gracefully within the bound and closes
 * the runtime (which stops a spawned Redis after the worker). Exit code 0 after a clean stop,
 * 1 when the bound ran out; a second signal exits at once.
 */
export async function runStagesUntilSignal(
  runtime: Runtime,
  options: RunStagesOptions,
): Promise<void> {
  const { log } = runtime;
  const signals = listenForSignals(log);
  const worker = new Worker({
    url: runtime.url,
    redis: runtime.redis,
    keys: runtime.keys,
    pipeline: options.pipeline,
    stages: options.stages,
    factories: STAGE_FACTORIES,
    log,
  });
  try {
    await worker.start();
  } catch (error) {
    signals.dispose();
    await runtime.close();
    throw error;
  }
  log.info("running; send SIGINT or SIGTERM to stop", {
    stages: options.stages,
    prefix: runtime.keys.prefix,
    pipeline: options.pipeline.source,
  });
  const signal = await signals.first;
  log.info("stopping", { signal, timeoutMs: options.shutdownTimeoutMs });
  const stopped = await settlesWithin(worker.stop(), options.shutdownTimeoutMs, log);
  await runtime.close();
  signals.dispose();
  if (!stopped) {
    log.error("worker did not stop in time; exiting", { timeoutMs: options.shutdownTimeoutMs });
    process.exit(EXIT_FAILURE);
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
      log.error("worker failed to stop", { error: toErrorInfo(error) });
      return false;
    },
  );
  try {
    return await Promise.race([done, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
