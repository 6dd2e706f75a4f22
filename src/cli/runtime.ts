import type { RedisClient } from "../redis/client.js";
import { CredentialsFile } from "../agents/credentials.js";
import { loadPipeline, type Pipeline } from "../config/pipeline.js";
import { readSettings, type Settings } from "../config/settings.js";
import { SwitchboardError } from "../protocol/errors.js";
import { checkEvictionPolicy } from "../redis/connection.js";
import { Keys } from "../redis/keys.js";
import { provisionRedis, type ProvisionedRedis } from "../redis/provision.js";
import { connectTarget, describeTarget, nodeAddress, type RedisTarget } from "../redis/target.js";
import { checkTarget } from "../redis/target-check.js";
import { defineScripts } from "../app/scripts.js";
import { createLogger, type Logger, type LogLevel } from "../telemetry/log.js";
import type { GlobalOptions } from "./options.js";

/** What a command that talks to Redis works with. */
export interface Runtime {
  settings: Settings;
  pipeline: Pipeline;
  keys: Keys;
  /** The Redis in use (found, given or spawned), or the Redis Cluster given. */
  target: RedisTarget;
  source: ProvisionedRedis["source"];
  /** The command connection, with the Lua scripts defined. */
  redis: RedisClient;
  log: Logger;
  /** Quits the connection, then stops a Redis this process spawned; safe to call twice. */
  close(): Promise<void>;
}

/**
 * A cluster is named by its listed nodes, sorted (not a URL: the file is named by its hash).
 * The same list, in any order, finds the same credentials.
 */
function credentialsUrl(target: RedisTarget): string {
  if (target.kind === "single") return target.url;
  return `cluster ${target.nodes.map(nodeAddress).sort().join(",")}`;
}

/** Where this machine keeps the token of `agent` for this runtime's Redis and prefix. */
export function credentialsFile(runtime: Runtime, agent: string): CredentialsFile {
  return new CredentialsFile(
    { url: credentialsUrl(runtime.target), source: runtime.source, prefix: runtime.keys.prefix },
    agent,
  );
}

export interface RuntimeOptions {
  /**
   * Long-running commands (serve, worker) say where Redis is at `info` and keep commands
   * queued while reconnecting; one-shot commands log it at `debug` and fail fast.
   */
  longRunning?: boolean;
}

/** Which option overrides which variable, to name the option in an error about its value. */
const FLAG_OF_VARIABLE = {
  REDIS_URL: "--redis-url",
  REDIS_CLUSTER_NODES: "--redis-cluster-nodes",
  SWITCHBOARD_PREFIX: "--prefix",
  SWITCHBOARD_PIPELINE: "--pipeline",
  SWITCHBOARD_LOG_LEVEL: "--log-level",
} as const;

/** Reads the settings, options over environment variables. */
export function resolveSettings(
  globals: GlobalOptions,
  env: NodeJS.ProcessEnv = process.env,
): Settings {
  const given: Partial<Record<keyof typeof FLAG_OF_VARIABLE, string>> = {
    REDIS_URL: globals.redisUrl,
    REDIS_CLUSTER_NODES: globals.redisClusterNodes,
    SWITCHBOARD_PREFIX: globals.prefix,
    SWITCHBOARD_PIPELINE: globals.pipeline,
    SWITCHBOARD_LOG_LEVEL: globals.logLevel,
  };
  const merged: NodeJS.ProcessEnv = { ...env };
  for (const [variable, value] of Object.entries(given)) {
    if (value !== undefined) merged[variable] = value;
  }
  try {
    return readSettings(merged);
  } catch (error) {
    throw renameToFlag(error, given);
  }
}

/** `environment: variable \`REDIS_URL\`: …` becomes `option --redis-url: …` when the option set it. */
function renameToFlag(error: unknown, given: Partial<Record<string, string>>): unknown {
  if (!(error instanceof SwitchboardError) || error.field === undefined) return error;
  const flag = FLAG_OF_VARIABLE[error.field as keyof typeof FLAG_OF_VARIABLE] as string | undefined;
  if (flag === undefined || given[error.field] === undefined) return error;
  const message = error.message.replace(
    `environment: variable \`${error.field}\``,
    `option ${flag}`,
  );
  return new SwitchboardError(error.code, message, { field: flag, cause: error });
}

/**
 * Commands that print for people (everything but serve, worker and stdio) log warnings and
 * errors only, so log lines do not interleave with their output.
 * @defaultValue `warn`
 */
export const ONE_SHOT_LOG_LEVEL: LogLevel = "warn";

/**
 * The log level: what `--log-level` or SWITCHBOARD_LOG_LEVEL asks for; else `info` for
 * long-running commands and {@link ONE_SHOT_LOG_LEVEL} for the others.
 */
export function logLevelFor(
  globals: GlobalOptions,
  settings: Settings,
  longRunning: boolean,
  env: NodeJS.ProcessEnv = process.env,
): LogLevel {
  const asked = globals.logLevel !== undefined || (env.SWITCHBOARD_LOG_LEVEL ?? "") !== "";
  if (asked) return settings.SWITCHBOARD_LOG_LEVEL;
  return longRunning ? "info" : ONE_SHOT_LOG_LEVEL;
}

/** Reads settings (options over environment), loads the pipeline, finds or starts Redis, connects. */
export async function openRuntime(
  globals: GlobalOptions,
  options: RuntimeOptions = {},
): Promise<Runtime> {
  const settings = resolveSettings(globals);
  const pipeline = loadPipeline(settings.SWITCHBOARD_PIPELINE);
  const level = logLevelFor(globals, settings, options.longRunning === true);
  const log = createLogger(level, { component: "cli" });
  const note = (message: string, fields?: Record<string, unknown>): void =>
    options.longRunning ? log.info(message, fields) : log.debug(message, fields);
  const provisioned = await provisionTarget(settings, note, log);
  const { target } = provisioned;
  const redis = defineScripts(
    connectTarget(target, options.longRunning ? "command" : "admin", "switchboard:cli"),
  );
  redis.on("error", (error: Error) => note("redis connection error", { error: error.message }));
  if (options.longRunning === true) {
    await checkEvictionPolicy(redis, log.warn.bind(log), log.debug.bind(log));
  }
  let closing: Promise<void> | undefined;
  return {
    settings,
    pipeline,
    keys: new Keys(settings.SWITCHBOARD_PREFIX),
    target,
    source: provisioned.source,
    redis,
    log,
    close: () => (closing ??= closeRuntime(redis, provisioned)),
  };
}

type ProvisionedTarget = Pick<ProvisionedRedis, "source" | "stop"> & { target: RedisTarget };

/**
 * The cluster given (REDIS_CLUSTER_NODES), or one Redis found, given or started; checked
 * (see `checkTarget`) before use, its warnings logged.
 */
async function provisionTarget(
  settings: Settings,
  note: (message: string) => void,
  log: Logger,
): Promise<ProvisionedTarget> {
  const cluster = settings.REDIS_CLUSTER_NODES;
  const provisioned: ProvisionedTarget =
    cluster !== undefined
      ? {
          target: { kind: "cluster", nodes: cluster.nodes, access: cluster.access },
          source: "env",
          stop: () => Promise.resolve(),
        }
      : await provisionRedis({
          env: { ...process.env, REDIS_URL: settings.REDIS_URL ?? "" },
          log: (line) => note(line),
        }).then((redis) => ({ ...redis, target: { kind: "single", url: redis.url } }));
  const { warnings } = await checkTarget(provisioned.target).catch(async (error: unknown) => {
    await provisioned.stop();
    throw error;
  });
  if (cluster !== undefined) note(`redis: using ${describeTarget(provisioned.target)}`);
  for (const warning of warnings) log.warn(warning);
  return provisioned;
}

async function closeRuntime(redis: RedisClient, provisioned: ProvisionedTarget): Promise<void> {
  if (redis.status === "ready") {
    try {
      await redis.quit();
    } catch {
      redis.disconnect();
    }
  } else {
    redis.disconnect();
  }
  await provisioned.stop();
}

/** Opens a runtime, runs `work` with it and closes it, whether `work` succeeds or throws. */
export async function withRuntime<T>(
  globals: GlobalOptions,
  work: (runtime: Runtime) => Promise<T>,
): Promise<T> {
  const runtime = await openRuntime(globals);
  try {
    return await work(runtime);
  } finally {
    await runtime.close();
  }
}
