import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";
import { buildConsole, CONSOLE_DIST } from "../../web/build.js";
import { provisionTestRedis } from "./test-redis.js";

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Finds or starts one Redis for the whole run (tests read its URL with
 * `inject("redisUrl")`), and builds `dist/` once, for the tests that run the real CLI,
 * with the web console (`dist/console-web/`) when it is missing or older than web/.
 * Spawned processes keep their data (`switchboard stdio` credentials) in a temp
 * SWITCHBOARD_DATA_DIR, never in the home directory; the test workers inherit it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [redis] = await Promise.all([
    provisionTestRedis(),
    promisify(execFile)(
      process.execPath,
      [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
      { cwd: ROOT },
    ),
    consoleIsCurrent().then((current) => (current ? undefined : buildConsole())),
  ]);
  project.provide("redisUrl", redis.url);
  const data = await mkdtemp(join(tmpdir(), "switchboard-test-data-"));
  process.env.SWITCHBOARD_DATA_DIR = data;
  return async () => {
    await redis.stop();
    await rm(data, { recursive: true, force: true });
  };
}

/** The newest modification time of the files under a folder, ms; 0 for none. */
async function newest(dir: string): Promise<number> {
  const names = await readdir(dir, { recursive: true });
  const times = await Promise.all(names.map(async (name) => (await stat(join(dir, name))).mtimeMs));
  return Math.max(0, ...times);
}

/** Whether dist/console-web was built after the last change under web/. */
async function consoleIsCurrent(): Promise<boolean> {
  const built = await stat(join(CONSOLE_DIST, "index.html")).catch(() => undefined);
  return built !== undefined && built.mtimeMs >= (await newest(join(ROOT, "web")));
}
