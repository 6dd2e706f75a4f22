import { beforeAll, describe, expect, it } from "vitest";
import { run } from "../support/cli.js";
import {
  call,
  callRaw,
  connectLegacy,
  connectModern,
  connectStdio,
  textOf,
  ToolError,
  useServe,
  type McpClient,
} from "../support/mcp.js";
import { savedCredentials, withDataDir } from "../support/stdio.js";

/**
 * What a `switchboard stdio` that cannot be its agent shows its client (through the SDKs'
 * real stdio clients), SWITCHBOARD_TOKEN over the credentials file, and operators giving
 * a name a new token with `switchboard agents token NAME --rotate`.
 */
const fixture = useServe();
const NO_WORKERS = ["--no-workers"];

let hankToken: string;

beforeAll(async () => {
  const client = await connectModern(fixture.serve.url);
  ({ token: hankToken } = await call<{ token: string }>(client, "register_agent", {
    name: "hank",
  }));
});

/** Every tool the refused client calls answers with the refusal. */
async function expectRefused(client: McpClient, refusal: RegExp): Promise<void> {
  for (const [tool, args] of [
    ["heartbeat", {}],
    ["list_agents", {}],
    ["register_agent", { name: "anyone" }],
  ] as const) {
    const result = await callRaw(client, tool, args);
    expect(result.isError, tool).toBe(true);
    expect(textOf(result)).toMatch(refusal);
  }
  expect(client.getInstructions()).toMatch(refusal);
}

async function listedNames(): Promise<string[]> {
  // Only agents may list agents: hank asks.
  const { agents } = await call<{ agents: { name: string }[] }>(
    await connectLegacy(fixture.serve.url, hankToken),
    "list_agents",
  );
  return agents.map((a) => a.name);
}

async function heartbeatAs(token: string): Promise<string> {
  const client = await connectLegacy(fixture.serve.url, token);
  return (await call<{ name: string }>(client, "heartbeat")).name;
}

describe.each(["v2", "v1"] as const)("a refused stdio start, through the %s SDK client", (sdk) => {
  it("answers every call with the token of another agent, and how to fix it", async () => {
    const env = await withDataDir(fixture.env);
    const other = await connectStdio({
      env,
      agent: `other-${sdk}`,
      token: hankToken,
      args: NO_WORKERS,
      sdk,
    });
    await expectRefused(
      other.client,
      /UNAUTHENTICATED: SWITCHBOARD_TOKEN belongs to agent 'hank', not 'other-v\d'; start with --agent hank/,
    );
    expect(other.stderr()).toContain("switchboard: SWITCHBOARD_TOKEN belongs to agent 'hank'");
  });

  it("answers every call with an unknown token, and registers nothing", async () => {
    const env = await withDataDir(fixture.env);
    const nemo = await connectStdio({
      env,
      agent: `nemo-${sdk}`,
      token: "sbt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      args: NO_WORKERS,
      sdk,
    });
    await expectRefused(nemo.client, /UNAUTHENTICATED: SWITCHBOARD_TOKEN belongs to no agent/);
    expect(await listedNames()).not.toContain(`nemo-${sdk}`);
  });

  it("answers every call with a name taken, naming the rotate command", async () => {
    const env = await withDataDir(fixture.env);
    const taken = await connectStdio({ env, agent: "hank", args: NO_WORKERS, sdk });
    await expectRefused(
      taken.client,
      /NAME_TAKEN: agent name 'hank' is registered already.*`switchboard agents token hank --rotate`.*another --agent/,
    );
    expect(await heartbeatAs(hankToken)).toBe("hank");
  });
});

// Several process starts per test: slow on a loaded machine, so more time than the default.
describe("switchboard agents token", { timeout: 60_000 }, () => {
  it("explains, without --rotate, that a token cannot be shown", async () => {
    const result = await run(["agents", "token", "hank"], fixture.env);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(
      /kept only as SHA-256 hashes.*switchboard agents token hank --rotate/,
    );
    expect((await run(["agents", "token", "nobody", "--rotate"], fixture.env)).code).toBe(1);
  });

  it("is named by NAME_TAKEN as the way to take over a name", async () => {
    const client = await connectModern(fixture.serve.url);
    await expect(call(client, "register_agent", { name: "hank" })).rejects.toThrow(
      /^NAME_TAKEN: .*`switchboard agents token hank --rotate`.*present its token.*choose another name/,
    );
  });

  it("rotates: the old token stops working at once, the new one works", async () => {
    const registered = await run(["agents", "register", "max", "--json"], fixture.env);
    const { token: first } = JSON.parse(registered.stdout) as { token: string };
    const session = await connectLegacy(fixture.serve.url, first);
    expect(await call(session, "heartbeat")).toMatchObject({ name: "max" });

    const rotated = await run(["agents", "token", "max", "--rotate", "--json"], fixture.env);
    expect(rotated.code).toBe(0);
    const { token: second, credentials_file } = JSON.parse(rotated.stdout) as {
      token: string;
      credentials_file: string | null;
    };
    expect(second).toMatch(/^sbt_/);
    expect(credentials_file).toBeNull();
    await expect(call(session, "heartbeat")).rejects.toThrow(ToolError);
    await expect(call(session, "heartbeat")).rejects.toThrow(/^UNAUTHENTICATED/);
    expect(await heartbeatAs(second)).toBe("max");

    const text = await run(["agents", "token", "max", "--rotate"], fixture.env);
    expect(text.stdout).toMatch(/^rotated max\ntoken: sbt_\S+\n$/);
    expect(text.stderr).toContain("The old token stopped working");
  });

  it("refuses a rotated-away token, from the file or SWITCHBOARD_TOKEN; SWITCHBOARD_TOKEN wins", async () => {
    const here = await withDataDir(fixture.env);
    const first = await connectStdio({ env: here, agent: "lou", args: NO_WORKERS });
    const { record } = await savedCredentials(here, "lou");
    await first.client.close();

    // An operator elsewhere rotates: the file here holds a token that no longer works.
    const elsewhere = await withDataDir(fixture.env);
    const rotated = await run(["agents", "token", "lou", "--rotate", "--json"], elsewhere);
    const { token } = JSON.parse(rotated.stdout) as { token: string };
    const refused = await connectStdio({ env: here, agent: "lou", args: NO_WORKERS });
    await expectRefused(
      refused.client,
      /UNAUTHENTICATED: the token kept in \S+ is no longer the token of agent 'lou'.*`switchboard agents token lou --rotate`/,
    );
    expect((await savedCredentials(here, "lou")).record.token).toBe(record.token);

    const stale = await connectStdio({
      env: here,
      agent: "lou",
      token: record.token,
      args: NO_WORKERS,
    });
    await expectRefused(
      stale.client,
      /UNAUTHENTICATED: SWITCHBOARD_TOKEN is not the token of agent 'lou'.*`switchboard agents token lou --rotate`/,
    );

    const withToken = await connectStdio({ env: here, agent: "lou", token, args: NO_WORKERS });
    expect(await call(withToken.client, "heartbeat")).toMatchObject({ name: "lou" });
  });

  it("keeps the new token in this machine's credentials file, for the next stdio start", async () => {
    const here = await withDataDir(fixture.env);
    const first = await connectStdio({ env: here, agent: "mo", args: NO_WORKERS });
    const { path, record } = await savedCredentials(here, "mo");
    await first.client.close();

    const rotated = await run(["agents", "token", "mo", "--rotate", "--json"], here);
    const { token, credentials_file } = JSON.parse(rotated.stdout) as {
      token: string;
      credentials_file: string;
    };
    expect(credentials_file).toBe(path);
    expect((await savedCredentials(here, "mo")).record.token).toBe(token);
    await expect(heartbeatAs(record.token)).rejects.toThrow(/^UNAUTHENTICATED/);
    const mo = await connectStdio({ env: here, agent: "mo", args: NO_WORKERS, sdk: "v1" });
    expect(await call(mo.client, "heartbeat")).toMatchObject({ name: "mo" });
  });

  it("keeps the token with --save, for a name registered elsewhere", async () => {
    const env = await withDataDir(fixture.env);
    await run(["agents", "register", "nia"], fixture.env);
    const saved = await run(["agents", "token", "nia", "--rotate", "--save"], env);
    expect(saved.stderr).toContain("switchboard stdio --agent nia` on this machine uses it");
    const nia = await connectStdio({ env, agent: "nia", args: NO_WORKERS });
    expect(await call(nia.client, "heartbeat")).toMatchObject({ name: "nia" });
  });
});
