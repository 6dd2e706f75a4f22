import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { finished, start, type RunResult } from "./cli.js";
import { initializeRequest } from "./mcp.js";

/**
 * For tests of `switchboard stdio`'s identity: a data directory of its own per "machine"
 * (SWITCHBOARD_DATA_DIR), what its credentials files hold, and a client's probe process.
 */

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** `env` with a new, empty data directory: another machine, as far as credentials go. */
export async function withDataDir(env: NodeJS.ProcessEnv): Promise<NodeJS.ProcessEnv> {
  const dir = await mkdtemp(join(tmpdir(), "switchboard-data-"));
  dirs.push(dir);
  return { ...env, SWITCHBOARD_DATA_DIR: dir };
}

export interface SavedCredentials {
  path: string;
  /** Permission bits of the file and of its directory. */
  mode: number;
  dirMode: number;
  record: { agent: string; token: string; redis: string; prefix: string; saved_at: string };
  text: string;
}

/** The files in `credentials/` of the env's data directory (temp files too), by name. */
export async function credentialNames(env: NodeJS.ProcessEnv): Promise<string[]> {
  const dir = join(env.SWITCHBOARD_DATA_DIR!, "credentials");
  return (await readdir(dir).catch(() => [] as string[])).sort();
}

/** The one credentials file kept for `agent` in the env's data directory. */
export async function savedCredentials(
  env: NodeJS.ProcessEnv,
  agent: string,
): Promise<SavedCredentials> {
  const dir = join(env.SWITCHBOARD_DATA_DIR!, "credentials");
  const names = (await credentialNames(env)).filter((name) => name.startsWith(`${agent}.`));
  if (names.length !== 1)
    throw new Error(`expected one file for ${agent} in ${dir}: ${names.join(", ")}`);
  const path = join(dir, names[0]!);
  const text = await readFile(path, "utf8");
  return {
    path,
    mode: (await stat(path)).mode & 0o777,
    dirMode: (await stat(dir)).mode & 0o777,
    record: JSON.parse(text) as SavedCredentials["record"],
    text,
  };
}

/**
 * What Claude Code or Cursor do to learn a server's tools: start `switchboard stdio`,
 * and kill it. `after`: `spawn` kills it at once, `initialize` once it answered that.
 */
export async function probe(
  env: NodeJS.ProcessEnv,
  args: string[],
  after: "spawn" | "initialize",
  signal: NodeJS.Signals = "SIGKILL",
): Promise<RunResult> {
  const child = start(["stdio", ...args], env);
  const result = finished(child);
  if (after === "initialize") {
    child.stdin?.write(`${JSON.stringify(initializeRequest("probe"))}\n`);
    await new Promise<void>((resolve, reject) => {
      let out = "";
      child.stdout?.on("data", (chunk: Buffer) => {
        out += chunk.toString("utf8");
        if (out.includes('"id":1')) resolve();
      });
      void result.then((r) => reject(new Error(`stdio exited before answering:\n${r.stderr}`)));
    });
  }
  child.kill(signal);
  return result;
}
