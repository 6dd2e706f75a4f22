import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";
import { provisionTestRedis } from "./test-redis.js";

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Finds or starts one Redis for the whole run (tests read its URL with
 * `inject("redisUrl")`), and builds `dist/` once, for the tests that run the real CLI.
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
  ]);
  project.provide("redisUrl", redis.url);
  const data = await mkdtemp(join(tmpdir(), "switchboard-test-data-"));
  process.env.SWITCHBOARD_DATA_DIR = data;
  return async () => {
    await redis.stop();
    await rm(data, { recursive: true, force: true });
  };
}
