import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { Redis } from "ioredis";
import { dataDir } from "../config/data-dir.js";
import { SwitchboardError } from "../protocol/errors.js";

/**
 * The one place that finds or starts a Redis, for the CLI and for the test harness.
 *
 * - `cli`:  REDIS_URL → redis://127.0.0.1:6379 → the Redis an earlier command spawned (its URL
 *   is in `redis.url` of the data dir) → spawn `redis-server` (AOF, stable data dir).
 * - `test`: REDIS_URL → Testcontainers (only when a Docker engine answers) → spawn
 *   `redis-server` (no persistence, temporary dir).
 */
export type RedisPurpose = "cli" | "test";

export interface ProvisionedRedis {
  url: string;
  /** `reused`: a Redis that an earlier `switchboard` command started and left running. */
  source: "env" | "localhost" | "reused" | "container" | "spawned";
  /** Stops what this module started; a no-op for a Redis it only found. */
  stop(): Promise<void>;
}

export interface ProvisionOptions {
  purpose: RedisPurpose;
  env?: NodeJS.ProcessEnv;
  /** Data directory of a spawned CLI Redis; defaults to `redis/` in {@link dataDir}. */
  dataDir?: string;
  log?: (line: string) => void;
}

const LOCALHOST_URL = "redis://127.0.0.1:6379";
const CONTAINER_IMAGE = "redis:7-alpine";
const READY_TIMEOUT_MS = 5000;
const STOP_TIMEOUT_MS = 5000;
/** Written in the data dir of a CLI-spawned Redis while it runs: its URL. */
const URL_FILE = "redis.url";

interface Found {
  redis: ProvisionedRedis;
  /** Why this Redis, for the log line. */
  how: string;
}

export async function provisionRedis(options: ProvisionOptions): Promise<ProvisionedRedis> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const found = await findRedis(options, env, log);
  log(`redis: using ${redactUrl(found.redis.url)} (${found.how})`);
  return found.redis;
}

async function findRedis(
  options: ProvisionOptions,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<Found> {
  const fromEnv = env.REDIS_URL;
  if (fromEnv !== undefined && fromEnv !== "") return useEnvUrl(fromEnv);
  if (options.purpose === "cli") {
    if (await answers(LOCALHOST_URL, 500)) {
      return { redis: external(LOCALHOST_URL, "localhost"), how: "found on localhost" };
    }
    const dataDir = options.dataDir ?? defaultDataDir(env);
    const earlier = await readUrlFile(dataDir);
    if (earlier !== undefined && (await answers(earlier, 500))) {
      return {
        redis: external(earlier, "reused"),
        how: `started earlier by switchboard, data in ${dataDir}`,
      };
    }
    return spawnRedis("cli", dataDir);
  }
  if (await dockerAnswers(env)) {
    try {
      return await startContainer();
    } catch (error) {
      log(`redis: Testcontainers failed (${errorMessage(error)}); spawning redis-server`);
    }
  }
  return spawnRedis("test", undefined);
}

async function useEnvUrl(url: string): Promise<Found> {
  try {
    await ping(url, 2000);
  } catch (error) {
    throw new SwitchboardError(
      "REDIS_UNAVAILABLE",
      `REDIS_URL=${redactUrl(url)} does not answer PING (${errorMessage(error)}); ` +
        "start Redis there, correct REDIS_URL, or unset it to let switchboard find or start one",
      { cause: error },
    );
  }
  return { redis: external(url, "env"), how: "from REDIS_URL" };
}

function external(url: string, source: "env" | "localhost" | "reused"): ProvisionedRedis {
  return { url, source, stop: () => Promise.resolve() };
}

/** Cheap check first (no socket, no DOCKER_HOST → no engine), then ask the engine itself. */
async function dockerAnswers(env: NodeJS.ProcessEnv): Promise<boolean> {
  if (!env.DOCKER_HOST && !existsSync("/var/run/docker.sock")) return false;
  try {
    const { getContainerRuntimeClient } = await import("testcontainers");
    await withTimeout(getContainerRuntimeClient(), 5000, "Docker engine check");
    return true;
  } catch {
    return false;
  }
}

async function startContainer(): Promise<Found> {
  const { RedisContainer } = await import("@testcontainers/redis");
  const container = await new RedisContainer(CONTAINER_IMAGE).start();
  const stop = async () => void (await container.stop());
  return {
    redis: { url: container.getConnectionUrl(), source: "container", stop },
    how: `Testcontainers ${CONTAINER_IMAGE}`,
  };
}

async function spawnRedis(purpose: RedisPurpose, dataDir: string | undefined): Promise<Found> {
  const port = await freePort();
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), "switchboard-redis-")));
  await mkdir(dir, { recursive: true });
  const persistence =
    purpose === "cli"
      ? ["--appendonly", "yes", "--appendfsync", "everysec", "--save", ""]
      : ["--save", "", "--appendonly", "no"];
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--daemonize", "no"];
  // Its own process group: a Ctrl-C meant for switchboard must not stop Redis before the
  // worker has committed its last batches; stop() (or the exit hook) stops it after.
  const child = spawn("redis-server", [...args, ...persistence], {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const output = collectTail(child);
  const killOnExit = () => void child.kill("SIGKILL");
  process.on("exit", killOnExit);
  // The parent may exit without calling stop(); the exit hook then kills the child.
  child.unref();

  const url = `redis://127.0.0.1:${port}`;
  const stop = async () => {
    process.off("exit", killOnExit);
    await stopChild(child);
    if (purpose === "test") await rm(dir, { recursive: true, force: true });
    else await rm(join(dir, URL_FILE), { force: true });
  };
  try {
    await waitUntilReady(child, url, output, purpose);
  } catch (error) {
    await stop();
    throw error;
  }
  // Other switchboard commands (send, status) find this Redis through the file while it runs.
  if (purpose === "cli") await writeFile(join(dir, URL_FILE), `${url}\n`);
  const how =
    purpose === "cli"
      ? `started redis-server, AOF everysec, data in ${dir}`
      : `started redis-server pid ${child.pid}, no persistence, in ${dir}`;
  return { redis: { url, source: "spawned", stop }, how };
}

async function waitUntilReady(
  child: ChildProcess,
  url: string,
  output: () => string,
  purpose: RedisPurpose,
): Promise<void> {
  let failure: Error | undefined;
  child.once("error", (error: NodeJS.ErrnoException) => {
    failure = error.code === "ENOENT" ? notInstalled(purpose) : error;
  });
  child.once("exit", (code, signal) => {
    failure ??= new SwitchboardError(
      "REDIS_UNAVAILABLE",
      `redis-server exited (${signal ?? `code ${code}`}) before answering PING:\n${output()}`,
    );
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (failure === undefined) {
    if (await answers(url, 300)) return;
    if (Date.now() > deadline) {
      throw new SwitchboardError(
        "REDIS_UNAVAILABLE",
        `redis-server did not answer PING at ${url} within ${READY_TIMEOUT_MS} ms:\n${output()}`,
      );
    }
    await delay(50);
  }
  throw failure;
}

function notInstalled(purpose: RedisPurpose): SwitchboardError {
  const tried =
    purpose === "cli"
      ? "no Redis answered at 127.0.0.1:6379"
      : "REDIS_URL is not set, no Docker engine answered,";
  return new SwitchboardError(
    "REDIS_UNAVAILABLE",
    `${tried} and \`redis-server\` is not on PATH; install it ` +
      "(Debian/Ubuntu: `sudo apt-get install redis-server`, macOS: `brew install redis`) " +
      "or set REDIS_URL=redis://host:port",
  );
}

/** SIGTERM, wait (bounded), then SIGKILL. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  try {
    await withTimeout(exited, STOP_TIMEOUT_MS, "redis-server shutdown");
  } catch {
    child.kill("SIGKILL");
    await exited;
  }
}

/** Keeps the last few KB of the child's stdout and stderr, for error messages. */
function collectTail(child: ChildProcess, limit = 4000): () => string {
  let tail = "";
  const append = (chunk: Buffer) => {
    tail = (tail + chunk.toString("utf8")).slice(-limit);
  };
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on("data", append);
    (stream as { unref?: () => void } | null)?.unref?.();
  }
  return () => tail.trimEnd();
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no free port"))));
    });
  });
}

async function readUrlFile(dir: string): Promise<string | undefined> {
  try {
    return (await readFile(join(dir, URL_FILE), "utf8")).trim() || undefined;
  } catch {
    return undefined;
  }
}

function defaultDataDir(env: NodeJS.ProcessEnv): string {
  return join(dataDir(env), "redis");
}

async function answers(url: string, timeoutMs: number): Promise<boolean> {
  try {
    await ping(url, timeoutMs);
    return true;
  } catch {
    return false;
  }
}

async function ping(url: string, timeoutMs: number): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    enableOfflineQueue: false,
  });
  client.on("error", () => {}); // reported through the rejected promise instead
  try {
    await client.connect();
    await client.ping();
  } finally {
    client.disconnect();
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  const abort = new AbortController();
  const timeout = delay(ms, undefined, { signal: abort.signal }).then(() => {
    throw new Error(`${what} timed out after ${ms} ms`);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    abort.abort();
    timeout.catch(() => {});
  }
}

/** The URL with its password, if any, replaced by `***`, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*):[^@/]*@/, "//$1:***@");
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
