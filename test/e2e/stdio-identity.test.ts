import { beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/harness.js";
import {
  call,
  connectLegacy,
  connectStdio,
  fastPipelineWith,
  joinAs,
  useServe,
} from "../support/mcp.js";
import { deleteByPrefix, testPrefix } from "../support/redis.js";
import { credentialNames, probe, savedCredentials, withDataDir } from "../support/stdio.js";

/**
 * `switchboard stdio` is its agent from the moment it starts, and the same agent on the
 * next start, through the token it keeps in its credentials file: against a `serve`
 * process whose sweeper moves silent agents to offline within seconds.
 */
const fixture = useServe({
  yaml: fastPipelineWith({ agents: { idleAfterMs: 1000, offlineAfterMs: 2000 } }),
});
const NO_WORKERS = ["--no-workers"];

let observerToken: string;

beforeAll(async () => {
  // Only agents may list agents: the observer is one (clients are closed after each test).
  observerToken = (await joinAs(fixture.serve.url, "observer", "legacy")).token;
});

interface Listed {
  agents: { name: string; status: string; capabilities: string[] }[];
}

async function listed(name: string): Promise<Listed["agents"][number] | undefined> {
  const observer = await connectLegacy(fixture.serve.url, observerToken);
  const { agents } = await call<Listed>(observer, "list_agents");
  return agents.find((agent) => agent.name === name);
}

/** Which agent a token is, asked over HTTP. */
async function agentOfToken(token: string): Promise<string> {
  const client = await connectLegacy(fixture.serve.url, token);
  return (await call<{ name: string }>(client, "heartbeat")).name;
}

// Several process starts per test: slow on a loaded machine, so more time than the default.
describe("switchboard stdio identity", { timeout: 60_000 }, () => {
  it("registers as it starts, keeps the token in a 0600 file and is the same agent next start", async () => {
    const env = await withDataDir(fixture.env);
    const first = await connectStdio({
      env,
      agent: "ivy",
      args: [...NO_WORKERS, "--capabilities", "ops"],
    });
    // Before ivy's client calls anything, another client finds it.
    const observer = await connectLegacy(fixture.serve.url, observerToken);
    const { agents } = await call<Listed>(observer, "list_agents", { capability: "ops" });
    expect(agents.map((a) => a.name)).toEqual(["ivy"]);

    const saved = await savedCredentials(env, "ivy");
    expect(saved.mode).toBe(0o600);
    expect(saved.dirMode).toBe(0o700);
    expect(saved.record).toMatchObject({ agent: "ivy", prefix: fixture.prefix });
    expect(first.stderr()).toContain(`registered agent 'ivy'; its token is kept in ${saved.path}`);
    expect(first.stderr()).not.toContain(saved.record.token);
    expect(await agentOfToken(saved.record.token)).toBe("ivy");
    await first.client.close();

    const second = await connectStdio({ env, agent: "ivy", args: NO_WORKERS, sdk: "v1" });
    expect(await call(second.client, "heartbeat")).toMatchObject({ name: "ivy" });
    expect((await listed("ivy"))?.capabilities).toEqual(["ops"]);
    expect((await savedCredentials(env, "ivy")).text).toBe(saved.text);
    expect(second.stderr()).not.toContain("registered agent");
  });

  it("keys the file by Redis and prefix, and keeps no Redis password in it", async () => {
    const env = await withDataDir(fixture.env);
    const url = new URL(env.REDIS_URL!);
    url.password = "s3cret-pw";
    const withPassword = { ...env, REDIS_URL: url.href };
    const kim = await connectStdio({ env: withPassword, agent: "kim", args: NO_WORKERS });
    expect(await call(kim.client, "heartbeat")).toMatchObject({ name: "kim" });
    const saved = await savedCredentials(env, "kim");
    expect(saved.record.redis).toBe(`${url.hostname}:${url.port}/0`);
    expect(`${saved.path}\n${saved.text}`).not.toContain("s3cret-pw");
    await kim.client.close();

    // The same Redis without the password: the same file, the same agent.
    const again = await connectStdio({ env, agent: "kim", args: NO_WORKERS });
    expect(await call(again.client, "heartbeat")).toMatchObject({ name: "kim" });
    expect(again.stderr()).not.toContain("registered agent");

    // Another prefix is another Switchboard: another registration, another file.
    const prefix = testPrefix();
    try {
      const other = await connectStdio({
        env: { ...env, SWITCHBOARD_PREFIX: prefix },
        agent: "kim",
        args: NO_WORKERS,
      });
      expect(other.stderr()).toContain("registered agent 'kim'");
      expect((await credentialNames(env)).filter((n) => n.startsWith("kim."))).toHaveLength(2);
      await other.client.close();
    } finally {
      await deleteByPrefix(fixture.redis, prefix);
    }
  });

  it("survives a client's probe: killed at once, or after initialize, or closed after listing tools", async () => {
    const env = await withDataDir(fixture.env);
    const args = ["--agent", "pia", ...NO_WORKERS];
    expect((await probe(env, args, "spawn")).signal).toBe("SIGKILL");
    expect((await probe(env, args, "initialize")).signal).toBe("SIGKILL");
    const { record } = await savedCredentials(env, "pia");

    const lister = await connectStdio({ env, agent: "pia", args: NO_WORKERS });
    expect((await lister.client.listTools()).tools.length).toBeGreaterThan(0);
    await lister.client.close();
    expect((await probe(env, args, "initialize", "SIGTERM")).code).toBe(0);

    // Nothing half-written, the same token, and it works.
    expect(await credentialNames(env)).toEqual([expect.stringMatching(/^pia\.[0-9a-f]+\.json$/)]);
    expect((await savedCredentials(env, "pia")).record.token).toBe(record.token);
    const pia = await connectStdio({ env, agent: "pia", args: NO_WORKERS });
    expect(await call(pia.client, "heartbeat")).toMatchObject({ name: "pia" });
    expect(await agentOfToken(record.token)).toBe("pia");
    await pia.client.close();
    // Gone quiet, it is not left online: the sweeper moves it to offline.
    await eventually(async () => (await listed("pia"))?.status === "offline");
  });

  it("leaves a running sibling alone when a probe starts and dies", async () => {
    const env = await withDataDir(fixture.env);
    const running = await connectStdio({ env, agent: "quin", args: NO_WORKERS });
    const { record } = await savedCredentials(env, "quin");
    await probe(env, ["--agent", "quin", ...NO_WORKERS], "initialize");
    await probe(env, ["--agent", "quin", ...NO_WORKERS], "spawn");
    expect(await call(running.client, "heartbeat")).toMatchObject({ name: "quin" });
    expect((await savedCredentials(env, "quin")).record.token).toBe(record.token);
  });

  it("makes processes that start at once the same agent, with one token", async () => {
    const env = await withDataDir(fixture.env);
    const starts = await Promise.all(
      [1, 2, 3].map(() => connectStdio({ env, agent: "rex", args: NO_WORKERS })),
    );
    for (const { client } of starts) {
      expect(await call(client, "heartbeat")).toMatchObject({ name: "rex" });
    }
    expect(starts.filter((s) => s.stderr().includes("registered agent 'rex'"))).toHaveLength(1);
    const { record } = await savedCredentials(env, "rex");
    expect(await agentOfToken(record.token)).toBe("rex");
  });
});
