import type { Redis } from "ioredis";
import { CredentialsFile } from "../agents/credentials.js";
import type { ClusterNode } from "../config/cluster-nodes.js";
import { loadPipeline, type Pipeline } from "../config/pipeline.js";
import { readSettings, type Settings } from "../config/settings.js";
import { SwitchboardError } from "../protocol/errors.js";
import { checkEvictionPolicy, connectRedis } from "../redis/connection.js";
import { Keys } from "../redis/keys.js";
import { provisionRedis, type ProvisionedRedis } from "../redis/provision.js";
import { checkTarget } from "../redis/target.js";
import { defineScripts } from "../app/scripts.js";
import { createLogger, type Logger, type LogLevel } from "../telemetry/log.js";
import type { GlobalOptions } from "./options.js";

/** What a command that talks to Redis works with. */
export interface Runtime {
  settings: Settings;
  pipeline: Pipeline;
  keys: Keys;
  /** The URL of the Redis in use (found, given or spawned). */
  url: string;
  source: ProvisionedRedis["source"];
  /** The command connection, with the Lua scripts defined. */
  redis: Redis;
  log: Logger;
  /** Quits the connection, then stops a Redis this process spawned; safe to call twice. */
  close(): Promise<void>;
}

/** Where this machine keeps the token of `agent` for this runtime's Redis and prefix. */
export function credentialsFile(runtime: Runtime, agent: string): CredentialsFile {
  return new CredentialsFile(
    { url: runtime.url, source: runtime.source, prefix: runtime.keys.prefix },
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
  if (settings.REDIS_CLUSTER_NODES !== undefined) await refuseCluster(settings.REDIS_CLUSTER_NODES);
  const provisioned = await provisionRedis({
    env: { ...process.env, REDIS_URL: settings.REDIS_URL ?? "" },
    log: (line) => note(line),
  });
  await checkTarget({ kind: "single", url: provisioned.url }).catch(async (error: unknown) => {
    await provisioned.stop();
    throw error;
  });
  const redis = defineScripts(
    connectRedis(provisioned.url, options.longRunning ? "command" : "admin", "switchboard:cli"),
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
    url: provisioned.url,
    source: provisioned.source,
    redis,
    log,
    close: () => (closing ??= closeRuntime(redis, provisioned)),
  };
}

/**
 * A cluster is checked (a wrong list, or nodes that are not a cluster, are refused as
 * such); then refused, as the commands do not run on a Redis Cluster yet (issue 12).
 */
async function refuseCluster(nodes: readonly ClusterNode[]): Promise<never> {
  await checkTarget({ kind: "cluster", nodes });
  throw new SwitchboardError(
    "CONFIG",
    "REDIS_CLUSTER_NODES: this version of switchboard does not run on a Redis Cluster yet; " +
      "use REDIS_URL with a single Redis",
    { field: "REDIS_CLUSTER_NODES" },
  );
}

async function closeRuntime(redis: Redis, provisioned: ProvisionedRedis): Promise<void> {
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
