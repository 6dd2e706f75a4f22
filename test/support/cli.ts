import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { redisUrl } from "./redis.js";

/** Runs the real `switchboard` (built into dist/ by the global setup) as child processes. */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const BIN = join(ROOT, "bin", "switchboard.js");

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const children = new Set<ChildProcess>();

export function cliEnv(prefix: string, pipelineFile?: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    REDIS_URL: redisUrl(),
    SWITCHBOARD_PREFIX: prefix,
    SWITCHBOARD_LOG_LEVEL: "info",
  };
  if (pipelineFile !== undefined) env.SWITCHBOARD_PIPELINE = pipelineFile;
  return env;
}

/** Starts `switchboard ARGS`; {@link killAll} ends it if the test does not. */
export function start(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env,
    stdio: ["pipe", "pipe", "pipe"],
  });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** Collects a child's output and waits for it to exit. */
export function finished(child: ChildProcess): Promise<RunResult> {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Runs `switchboard ARGS` to completion, with `input` on stdin. */
export function run(args: string[], env: NodeJS.ProcessEnv, input = ""): Promise<RunResult> {
  const child = start(args, env);
  const result = finished(child);
  child.stdin?.end(input);
  return result;
}

/** Kills every child still running; for `afterEach`. */
export function killAll(): void {
  for (const child of children) child.kill("SIGKILL");
}

export interface ListeningProcess {
  /** The URL from the first log line with the marker (its `url` field). */
  url: URL;
  child: ChildProcess;
  /** What the process wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM (by default), then its exit. */
  stop(signal?: NodeJS.Signals): Promise<RunResult>;
}

/** Starts `switchboard ARGS` and waits for the JSON log line containing `marker`, with a `url`. */
export async function startListening(
  args: string[],
  env: NodeJS.ProcessEnv,
  marker: string,
  timeoutMs = 20_000,
): Promise<ListeningProcess> {
  const child = start(args, env);
  const result = finished(child);
  let stderr = "";
  const url = await new Promise<URL>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${args[0]} not ready:\n${stderr}`)),
      timeoutMs,
    );
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
      const line = stderr.split("\n").find((l) => l.includes(marker));
      if (line === undefined) return;
      clearTimeout(timer);
      resolve(new URL((JSON.parse(line) as { url: string }).url));
    });
    void result.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited with ${code}:\n${stderr}`));
    });
  });
  return {
    url,
    child,
    stderr: () => stderr,
    stop: (signal = "SIGTERM") => {
      child.kill(signal);
      return result;
    },
  };
}
