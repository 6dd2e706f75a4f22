import { spawn, type ChildProcess } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { createServer } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import { SwitchboardError } from "../protocol/errors.js";
import { answersPing } from "./connection.js";

const READY_TIMEOUT_MS = 5000;
const STOP_TIMEOUT_MS = 5000;

export interface SpawnOptions {
  /** Its working directory, created if missing. */
  dir: string;
  /** True: an append-only file fsynced every second, in `dir`; false: nothing on disk. */
  persistent: boolean;
  /** What was tried before spawning, for the error when `redis-server` is not installed. */
  tried: string;
  /** Its port; a free one of 127.0.0.1 when absent. */
  port?: number;
  /** More `redis-server` arguments, such as `--cluster-enabled yes`. */
  args?: readonly string[];
}

export interface SpawnedRedis {
  url: string;
  port: number;
  pid: number | undefined;
  /** SIGKILL, as a crash would; resolves once it has exited. */
  kill(): Promise<void>;
  /** SIGTERM, then SIGKILL if it has not exited within a few seconds; idempotent. */
  stop(): Promise<void>;
}

/** Starts `redis-server` on a free port of 127.0.0.1 and waits until it answers PING. */
export async function spawnRedisServer(options: SpawnOptions): Promise<SpawnedRedis> {
  const { dir, persistent, tried } = options;
  const port = options.port ?? (await freePort());
  await mkdir(dir, { recursive: true });
  const persistence = persistent
    ? ["--appendonly", "yes", "--appendfsync", "everysec", "--save", ""]
    : ["--save", "", "--appendonly", "no"];
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--daemonize", "no"];
  // Its own process group: a Ctrl-C meant for switchboard must not stop Redis before the
  // worker has committed its last batches; stop() (or the exit hook) stops it after.
  const child = spawn("redis-server", [...args, ...persistence, ...(options.args ?? [])], {
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
  };
  try {
    await waitUntilReady(child, url, output, tried);
  } catch (error) {
    await stop();
    throw error;
  }
  const kill = async () => {
    process.off("exit", killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGKILL");
    await exited;
  };
  return { url, port, pid: child.pid, kill, stop };
}

async function waitUntilReady(
  child: ChildProcess,
  url: string,
  output: () => string,
  tried: string,
): Promise<void> {
  let failure: Error | undefined;
  child.once("error", (error: NodeJS.ErrnoException) => {
    failure = error.code === "ENOENT" ? notInstalled(tried) : error;
  });
  child.once("exit", (code, signal) => {
    failure ??= new SwitchboardError(
      "REDIS_UNAVAILABLE",
      `redis-server exited (${signal ?? `code ${code}`}) before answering PING:\n${output()}`,
    );
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (failure === undefined) {
    if (await answersPing(url, 300)) return;
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

function notInstalled(tried: string): SwitchboardError {
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
  const abort = new AbortController();
  const timedOut = delay(STOP_TIMEOUT_MS, "timed out" as const, { signal: abort.signal });
  timedOut.catch(() => {}); // aborted once the child has exited
  try {
    if ((await Promise.race([exited, timedOut])) === "timed out") {
      child.kill("SIGKILL");
      await exited;
    }
  } finally {
    abort.abort();
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

/** `port` when nothing listens on it at 127.0.0.1 (rejects otherwise); 0: any free port. */
export function freePort(port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no free port"))));
    });
  });
}
