import { execFile } from "node:child_process";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "vitest";
import { run, type RunResult } from "./cli.js";
import { eventually } from "./harness.js";
import { call, callRaw, connectLegacy, startServe, textOf, type McpClient } from "./mcp.js";

/** What acquire_lease answers. */
export interface Acquired {
  lease_id: string | null;
  granted: string[];
  conflicts: {
    resource: string;
    held: string;
    holder: string;
    lease_id: string;
    expires_at: string;
  }[];
  fencing_token: number | null;
  expires_at: string | null;
}

const git = (dir: string, ...args: string[]) => promisify(execFile)("git", ["-C", dir, ...args]);

/** A Git repository with `paths` staged, for the guard hook; the caller removes `dir`. */
export async function stagedRepo(paths: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "switchboard-guard-"));
  await git(dir, "init", "-q");
  for (const path of paths) {
    await mkdir(join(dir, path, ".."), { recursive: true });
    await writeFile(join(dir, path), "edited\n");
  }
  await git(dir, "add", "--", ...paths);
  return dir;
}

/** Runs `switchboard leases guard` in `repo` as `agent` with its fencing token, if any. */
export function guard(
  env: NodeJS.ProcessEnv,
  repo: string,
  agent: string,
  fencingToken?: number,
): Promise<RunResult> {
  const vars: NodeJS.ProcessEnv = { ...env, SWITCHBOARD_AGENT: agent };
  delete vars.SWITCHBOARD_FENCING_TOKEN;
  if (fencingToken !== undefined) vars.SWITCHBOARD_FENCING_TOKEN = String(fencingToken);
  return run(["leases", "guard", "--repo", repo], vars);
}

/** A registered agent on a `serve` process: its client and token. */
async function join_(url: URL, name: string): Promise<{ client: McpClient; token: string }> {
  const client = await connectLegacy(url);
  const { token } = await call<{ token: string }>(client, "register_agent", { name });
  return { client, token };
}

/**
 * The scenario, on whatever Redis `env` names: ada (on one `serve` process) and bob
 * (on another) ask for overlapping globs, bob is refused naming ada and her expiry; ada's
 * process is killed; her lease expires and bob gets it with a larger fencing token; ada's
 * late release and her commit under the stale token are refused, bob's commit passes.
 */
export async function leaseScenario(env: NodeJS.ProcessEnv): Promise<void> {
  const adaServe = await startServe(env);
  const bobServe = await startServe(env);
  const ada = await join_(adaServe.url, "ada");
  const bob = await join_(bobServe.url, "bob");
  const held = await call<Acquired>(ada.client, "acquire_lease", {
    resources: ["src/auth/**"],
    ttl_seconds: 8,
    reason: "auth refactor",
  });
  expect(held.granted).toEqual(["src/auth/**"]);
  const refused = await call<Acquired>(bob.client, "acquire_lease", {
    resources: ["src/auth/login.ts", "src/authz.ts"],
    ttl_seconds: 60,
  });
  expect(refused).toMatchObject({ lease_id: null, granted: [], fencing_token: null });
  expect(refused.conflicts).toEqual([
    {
      resource: "src/auth/login.ts",
      held: "src/auth/**",
      holder: "ada",
      lease_id: held.lease_id,
      expires_at: held.expires_at,
      reason: "auth refactor",
    },
  ]);
  const repo = await stagedRepo(["src/auth/login.ts", "README.md"]);
  try {
    const blocked = await guard(env, repo, "bob");
    expect(blocked.stderr).toContain("commit refused for 'bob'");
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toContain(`src/auth/login.ts: held by 'ada' (lease ${held.lease_id}`);
    expect(blocked.stderr).not.toContain("README.md:");

    // ada's process dies; her lease outlives it until its TTL, then bob gets it.
    await adaServe.stop("SIGKILL");
    const granted = await call<Acquired>(
      bob.client,
      "acquire_lease",
      { resources: ["src/auth/login.ts"], ttl_seconds: 60, wait_seconds: 20 },
      { timeoutMs: 40_000 },
    );
    expect(granted.granted).toEqual(["src/auth/login.ts"]);
    expect(granted.fencing_token).toBeGreaterThan(held.fencing_token!);

    // ada comes back (through bob's front end, with her token): too late.
    const back = await connectLegacy(bobServe.url, ada.token);
    const late = await callRaw(back, "release_lease", { lease_id: held.lease_id });
    expect(late.isError).toBe(true);
    expect(textOf(late)).toMatch(
      /^LEASE_EXPIRED: lease \S+ on src\/auth\/\*\* is gone: it expired/,
    );
    expect(textOf(late)).toContain(`held now by 'bob' (lease ${granted.lease_id}`);

    const stale = await guard(env, repo, "ada", held.fencing_token!);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain(`stale fencing token ${held.fencing_token}`);
    expect(stale.stderr).toContain(`held by 'bob' (lease ${granted.lease_id}`);
    const ok = await guard(env, repo, "bob", granted.fencing_token!);
    expect({ code: ok.code, stderr: ok.stderr }).toMatchObject({ code: 0 });

    // bob was refused because of ada's lease: he hears that it ended.
    await eventually(async () => {
      const inbox = await call<{ messages: { type: string; body: { event?: string } }[] }>(
        bob.client,
        "fetch_inbox",
        { wait_seconds: 1 },
      );
      return inbox.messages.some(
        (m) => m.type === "switchboard.lease" && m.body.event === "lease_freed",
      );
    });
  } finally {
    await rm(repo, { recursive: true, force: true });
    await bobServe.stop();
  }
}
