import { InvalidArgumentError, Option, type Command } from "commander";
import { parseDuration } from "../protocol/duration.js";
import type { LogLevel } from "../telemetry/log.js";

/** Options every command takes; each overrides the environment variable of the same meaning. */
export interface GlobalOptions {
  redisUrl?: string;
  redisClusterNodes?: string;
  prefix?: string;
  pipeline?: string;
  logLevel?: LogLevel;
}

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

export function addGlobalOptions(program: Command): Command {
  return program
    .addOption(new Option("--redis-url <url>", "Redis to use").env("REDIS_URL"))
    .addOption(
      new Option(
        "--redis-cluster-nodes <host:port,...>",
        "a Redis Cluster to use instead of --redis-url (some or all of its nodes; an item may be redis[s]://[user]:password@host:port)",
      ).env("REDIS_CLUSTER_NODES"),
    )
    .addOption(
      new Option("--prefix <prefix>", "prefix of every Redis key").env("SWITCHBOARD_PREFIX"),
    )
    .addOption(new Option("--pipeline <file>", "pipeline file").env("SWITCHBOARD_PIPELINE"))
    .addOption(
      new Option(
        "--log-level <level>",
        "log level (default: info for serve, worker and stdio; warn for the others)",
      )
        .choices(LOG_LEVELS)
        .env("SWITCHBOARD_LOG_LEVEL"),
    );
}

/**
 * The global options given on the command line (they may come before or after a command's
 * name). Values from the environment are left out: the settings read those themselves, and
 * an error about a value names the option only when the option gave it.
 */
export function globalOptions(command: Command): GlobalOptions {
  const all = command.optsWithGlobals<GlobalOptions>();
  const given = <K extends keyof GlobalOptions>(key: K): GlobalOptions[K] =>
    command.getOptionValueSourceWithGlobals(key) === "cli" ? all[key] : undefined;
  return {
    redisUrl: given("redisUrl"),
    redisClusterNodes: given("redisClusterNodes"),
    prefix: given("prefix"),
    pipeline: given("pipeline"),
    logLevel: given("logLevel"),
  };
}

/** Parses an option value as a positive whole number, for commander. */
export function positiveInteger(value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(number) || number <= 0) {
    throw new InvalidArgumentError("expected a positive whole number.");
  }
  return number;
}

/** A whole number, zero allowed (a wait of 0 means "do not wait"). */
export function nonNegativeInteger(value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(number)) {
    throw new InvalidArgumentError("expected a whole number, 0 or more.");
  }
  return number;
}

/**
 * A whole number from `min` to `max`, for commander. One rule for every bounded option:
 * a value over the maximum is an error naming the maximum, never quietly cut down to it
 * (as the MCP tools refuse it too).
 */
export function integerBetween(min: number, max: number): (value: string) => number {
  return function boundedInteger(value: string): number {
    const number = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(number) || number < min) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    }
    if (number > max) {
      throw new InvalidArgumentError(
        `${number} is over the maximum of ${max}; give ${min} to ${max}.`,
      );
    }
    return number;
  };
}

/** A duration such as `30s`, `5m`, `2h` or `1d`, in milliseconds, for commander. */
export function duration(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined) {
    throw new InvalidArgumentError("expected a duration such as 30s, 5m, 2h or 1d.");
  }
  return ms;
}

/** A comma-separated list, trimmed, without empty items. */
export function splitList(value: string): string[] {
  return value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

/** Adds an "Examples:" section to a command's help. */
export function withExamples(command: Command, examples: readonly string[]): Command {
  const lines = examples.map((example) => `  $ ${example}`).join("\n");
  return command.addHelpText("after", `\nExamples:\n${lines}`);
}
