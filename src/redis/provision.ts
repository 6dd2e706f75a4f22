import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { dataDir } from "../config/data-dir.js";
import { SwitchboardError } from "../protocol/errors.js";
import { answersPing, pingUrl } from "./connection.js";
import { spawnRedisServer } from "./spawn.js";

/**
 * The one place where the CLI finds or starts its Redis: REDIS_URL → redis://127.0.0.1:6379
 * → the Redis an earlier command spawned (its URL is in `redis.url` of the data dir) →
 * spawn `redis-server` (AOF, stable data dir). The test harness has its own order
 * (test/support/test-redis.ts) and shares the first step, {@link redisFromEnv}.
 */
export interface ProvisionedRedis {
  url: string;
  /** `reused`: a Redis that an earlier `switchboard` command started and left running. */
  source: "env" | "localhost" | "reused" | "spawned";
  /** Why this Redis, for the log line. */
  how: string;
  /** Stops what this module started; a no-op for a Redis it only found. */
  stop(): Promise<void>;
}

export interface ProvisionOptions {
  env?: NodeJS.ProcessEnv;
  /** Data directory of a spawned Redis; defaults to `redis/` in {@link dataDir}. */
  dataDir?: string;
  log?: (line: string) => void;
}

const LOCALHOST_URL = "redis://127.0.0.1:6379";
/** Written in the data dir of a spawned Redis while it runs: its URL. */
const URL_FILE = "redis.url";

export async function provisionRedis(options: ProvisionOptions = {}): Promise<ProvisionedRedis> {
  const env = options.env ?? process.env;
  const redis =
    (await redisFromEnv(env)) ?? (await findRedis(options.dataDir ?? join(dataDir(env), "redis")));
  logUsing(redis, options.log);
  return redis;
}

/** The one line that says which Redis a process uses, and why; the password left out. */
export function logUsing(
  redis: Pick<ProvisionedRedis, "url" | "how">,
  log: (line: string) => void = (line) => void process.stderr.write(`${line}\n`),
): void {
  log(`redis: using ${redactUrl(redis.url)} (${redis.how})`);
}

/** The Redis REDIS_URL names, if set; it must answer, as nothing else would be right. */
export async function redisFromEnv(
  env: NodeJS.ProcessEnv,
): Promise<(ProvisionedRedis & { source: "env" }) | undefined> {
  const url = env.REDIS_URL;
  if (url === undefined || url === "") return undefined;
  try {
    await pingUrl(url, 2000);
  } catch (error) {
    throw new SwitchboardError(
      "REDIS_UNAVAILABLE",
      `REDIS_URL=${redactUrl(url)} does not answer PING (${errorMessage(error)}); ` +
        "start Redis there, correct REDIS_URL, or unset it to let switchboard find or start one",
      { cause: error },
    );
  }
  return external(url, "env", "from REDIS_URL");
}

async function findRedis(dir: string): Promise<ProvisionedRedis> {
  if (await answersPing(LOCALHOST_URL, 500)) {
    return external(LOCALHOST_URL, "localhost", "found on localhost");
  }
  const earlier = await readUrlFile(dir);
  if (earlier !== undefined && (await answersPing(earlier, 500))) {
    return external(earlier, "reused", `started earlier by switchboard, data in ${dir}`);
  }
  const spawned = await spawnRedisServer({
    dir,
    persistent: true,
    tried: "no Redis answered at 127.0.0.1:6379",
  });
  // Other switchboard commands (send, status) find this Redis through the file while it runs.
  await writeFile(join(dir, URL_FILE), `${spawned.url}\n`);
  return {
    url: spawned.url,
    source: "spawned",
    how: `started redis-server, AOF everysec, data in ${dir}`,
    async stop() {
      await spawned.stop();
      await rm(join(dir, URL_FILE), { force: true });
    },
  };
}

/** A Redis this module only found: stop() leaves it running. */
function external<S extends "env" | "localhost" | "reused">(
  url: string,
  source: S,
  how: string,
): ProvisionedRedis & { source: S } {
  return { url, source, how, stop: () => Promise.resolve() };
}

async function readUrlFile(dir: string): Promise<string | undefined> {
  try {
    return (await readFile(join(dir, URL_FILE), "utf8")).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The URL with its password, if any, replaced by `***`, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*):[^@/]*@/, "//$1:***@");
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
