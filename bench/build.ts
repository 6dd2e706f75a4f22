import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { progress, ROOT } from "./procs.js";

/** Newest modification time of any file under a directory, ms. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/** Our child processes run the compiled CLI: rebuild when dist/ is missing or older than src/. */
export function ensureBuilt(): void {
  let built = 0;
  try {
    built = statSync(join(ROOT, "dist/cli/main.js")).mtimeMs;
  } catch {
    // not built yet
  }
  if (built >= newest(join(ROOT, "src"))) return;
  progress("src/ is newer than dist/; running the build");
  const tsc = join(ROOT, "node_modules/typescript/bin/tsc");
  const result = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], {
    cwd: ROOT,
    stdio: ["ignore", 2, 2],
  });
  if (result.status !== 0)
    throw new Error("the build failed (see above); fix it or use --no-build");
}
