import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { STAGE_NAMES, type Pipeline } from "../src/config/pipeline.js";
import { Keys } from "../src/redis/keys.js";
import { freePort, spawnProc, stopProc, waitAnswering, type Proc } from "./procs.js";
import { deletePrefix } from "./redis-tools.js";
import { waitForReaders } from "./wait.js";

const BIN = new URL("../bin/switchboard.js", import.meta.url).pathname;
const HOST = "127.0.0.1";
const READY_TIMEOUT_MS = 30_000;

/** One `switchboard serve` (front end and every stage) on a prefix of its own. */
export interface Serve {
  proc: Proc;
  keys: Keys;
  /** The MCP endpoint. */
  url: URL;
  /** Stops the process (SIGTERM, then SIGKILL) and deletes the prefix's keys; idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts `switchboard serve --port P` at log level warn (so its `listening` line is not
 * printed: the port is chosen here) and waits until it answers and its stages read.
 */
export async function startServe(options: {
  url: string;
  admin: Redis;
  pipeline: Pipeline;
  label: string;
  /** More environment for serve (e.g. SWITCHBOARD_PIPELINE). */
  env?: NodeJS.ProcessEnv;
  /** Another build's bin/switchboard.js (to compare two builds); this one's by default. */
  bin?: string;
}): Promise<Serve> {
  const keys = new Keys(`bench-mcp-${randomBytes(4).toString("hex")}`);
  // e.g. BENCH_SERVE_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it
  const nodeArgs = (process.env.BENCH_SERVE_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const port = await freePort(HOST);
  const proc = spawnProc(
    `serve ${options.label}`,
    [...nodeArgs, options.bin ?? BIN, "serve", "--port", String(port)],
    {
      ...process.env,
      ...options.env,
      REDIS_URL: options.url,
      SWITCHBOARD_PREFIX: keys.prefix,
      SWITCHBOARD_LOG_LEVEL: "warn",
    },
  );
  let stopped: Promise<void> | undefined;
  const serve: Serve = {
    proc,
    keys,
    url: new URL(`http://${HOST}:${port}/mcp`),
    stop: () =>
      (stopped ??= (async () => {
        const code = await stopProc(proc);
        if (code !== 0)
          process.stderr.write(`bench: ${proc.name} exited with ${code ?? "a signal"}\n`);
        await deletePrefix(options.admin, keys);
      })()),
  };
  try {
    await waitAnswering(proc, new URL("/healthz", serve.url), READY_TIMEOUT_MS);
    const loops = STAGE_NAMES.reduce((sum, n) => sum + options.pipeline.stages[n].concurrency, 0);
    await waitForReaders(options.admin, [proc], loops);
    return serve;
  } catch (error) {
    await serve.stop();
    throw error;
  }
}
