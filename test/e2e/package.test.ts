import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { finished, ROOT } from "../support/cli.js";
import { connect, deleteByPrefix, redisUrl, testPrefix } from "../support/redis.js";

/**
 * The package as a user gets it: `npm pack`, installed into an empty directory with
 * nothing but the tarball and npm's cache (no devDependencies, so no TypeScript: the
 * tarball must carry dist/ and need no build), then `npx switchboard` from there.
 */
const exec = promisify(execFile);
let dir: string;
let tarball: string;
let packed: string[];

/** The environment of the npm children, without the npm_* variables of a surrounding `npm test`. */
function npmEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  return { ...env, ...extra };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "switchboard-package-"));
  // dist/ was just built by the global setup; prepack would build it again.
  const { stdout } = await exec(
    "npm",
    ["pack", "--ignore-scripts", "--json", "--pack-destination", dir],
    { cwd: ROOT, env: npmEnv() },
  );
  const [pack] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  tarball = join(dir, pack!.filename);
  packed = pack!.files.map((f) => f.path);
  await mkdir(join(dir, "app"));
  await writeFile(join(dir, "app", "package.json"), '{ "name": "app", "private": true }\n');
  await exec(
    "npm",
    ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", tarball],
    { cwd: join(dir, "app"), env: npmEnv() },
  );
}, 150_000);

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe("the packed package", () => {
  it("holds the build, the bin and the default pipeline, and no sources or tests", () => {
    expect(packed).toEqual(
      expect.arrayContaining([
        "package.json",
        "README.md",
        "bin/switchboard.js",
        "dist/cli/main.js",
        "dist/index.js",
        "dist/index.d.ts",
        "pipelines/default.yaml",
      ]),
    );
    expect(packed.filter((path) => /^(src|test|bench|examples|docker)\//.test(path))).toEqual([]);
  });

  it("installed from the tarball, `npx switchboard --version` and `serve` work", async () => {
    const app = join(dir, "app");
    const installed = join(app, "node_modules", "switchboard", "package.json");
    // A version only this copy has shows that the CLI and serverInfo read the installed
    // package.json at run time.
    const manifest = JSON.parse(await readFile(installed, "utf8")) as { version: string };
    const version = `${manifest.version}-installed`;
    await writeFile(installed, JSON.stringify({ ...manifest, version }));

    const printed = await exec("npx", ["--no", "--", "switchboard", "--version"], {
      cwd: app,
      env: npmEnv(),
    });
    expect(printed.stdout).toBe(`${version}\n`);

    const prefix = testPrefix();
    const serve = spawn("npx", ["--no", "--", "switchboard", "serve", "--port", "0"], {
      cwd: app,
      env: npmEnv({ REDIS_URL: redisUrl(), SWITCHBOARD_PREFIX: prefix }),
      stdio: ["ignore", "ignore", "pipe"],
      detached: true, // its own process group: npx and the node it starts are stopped together
    });
    const exited = finished(serve);
    try {
      const url = await listening(serve);
      const health = await fetch(new URL("/healthz", url));
      expect(health.status).toBe(200);
      const client = new Client({ name: "package-test", version: "1" });
      await client.connect(new StreamableHTTPClientTransport(url));
      expect(client.getServerVersion()).toMatchObject({ name: "switchboard", version });
      await client.close();
    } finally {
      process.kill(-serve.pid!, "SIGTERM");
      const timer = setTimeout(() => process.kill(-serve.pid!, "SIGKILL"), 15_000);
      await exited.finally(() => clearTimeout(timer));
      const redis = await connect();
      await deleteByPrefix(redis, prefix);
      await redis.quit();
    }
  }, 60_000);
});

/** The URL `serve` logs once it listens. */
function listening(child: ChildProcess): Promise<URL> {
  let stderr = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not listen:\n${stderr}`)), 40_000);
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
      const line = stderr.split("\n").find((l) => l.includes("mcp front end listening"));
      if (line === undefined) return;
      clearTimeout(timer);
      resolve(new URL((JSON.parse(line) as { url: string }).url));
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}:\n${stderr}`));
    });
  });
}
