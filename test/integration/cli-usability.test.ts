import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { INBOX_GROUP } from "../../src/streams/groups.js";
import { Keys } from "../../src/redis/keys.js";
import { cliEnv, killAll, run as runCli, start as startCli } from "../support/cli.js";
import { eventually } from "../support/harness.js";
import {
  callRaw,
  closeClients,
  connectLegacy,
  joinAs,
  startServe,
  textOf,
} from "../support/mcp.js";
import { useCliFixture } from "../support/cli-fixture.js";

/**
 * What a new user trips over at the CLI: an inbox that takes what it shows, a broken JSON
 * body sent as a string, MCP words in CLI errors, log lines in the output, limits cut down
 * in silence, mail from senders nobody registered.
 */

/** Fast, with small bodies, so a line over the limit is easy to write. */
const PIPELINE = `version: 1
defaults:
  blockMs: 200
  janitorIntervalMs: 500
limits:
  maxBodyBytes: 64
`;

const fx = useCliFixture(PIPELINE);

/** The test environment, without a log level: the commands' own default applies. */
function env(prefix: string): NodeJS.ProcessEnv {
  const vars = cliEnv(prefix, fx.pipeline);
  delete vars.SWITCHBOARD_LOG_LEVEL;
  delete vars.SWITCHBOARD_AGENT;
  return vars;
}

const run = (args: string[], prefix: string, input = "") => runCli(args, env(prefix), input);

async function register(prefix: string, ...names: string[]): Promise<void> {
  for (const name of names) expect((await run(["agents", "register", name], prefix)).code).toBe(0);
}

afterEach(async () => {
  await closeClients();
  killAll();
});

describe("switchboard inbox", () => {
  it("shows what waits without taking it; --fetch says when it returns; --ack acknowledges", async () => {
    const prefix = fx.newPrefix();
    await register(prefix, "alice", "bob");
    startCli(["worker"], env(prefix));
    expect(
      (await run(["send", "--from", "alice", "--to", "bob", "--body", "hi"], prefix)).code,
    ).toBe(0);
    const inbox = new Keys(prefix).inbox("bob");
    await eventually(async () => (await fx.redis.xlen(inbox)) === 1);
    const handedOut = async () => (await fx.redis.xpending(inbox, INBOX_GROUP))[0];

    const looked = await run(["inbox", "--agent", "bob", "--json"], prefix);
    expect(looked.code).toBe(0);
    expect((JSON.parse(looked.stdout) as { body: string }[]).map((m) => m.body)).toEqual(["hi"]);
    expect(await handedOut()).toBe(0);

    const fetched = await run(["inbox", "--agent", "bob", "--fetch"], prefix);
    expect(fetched.code).toBe(0);
    expect(fetched.stdout).toMatch(/alice\s+\S+\s+hi$/m);
    expect(fetched.stderr).toMatch(
      /^took 1 message as bob without acknowledging it: handed out again after the visibility timeout \(1m, at \d\d:\d\d:\d\d UTC\)/m,
    );
    expect(await handedOut()).toBe(1);

    const acked = await run(["inbox", "--agent", "bob", "--ack"], prefix);
    expect(acked.stdout).toMatch(/nothing to take for bob/);
    expect(acked.stderr).toMatch(/1 message taken earlier waits to be acknowledged/);
    expect((await run(["inbox", "--agent", "bob"], prefix)).stdout).toMatch(/alice\s+\S+\s+hi$/m);
  }, 90_000);

  it("refuses a wait over the maximum, naming it, as fetch_inbox does", async () => {
    const prefix = fx.newPrefix();
    const result = await run(["inbox", "--agent", "bob", "--ack", "--wait", "120"], prefix);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /'--wait <seconds>' argument '120' is invalid\. 120 is over the maximum of 60/,
    );
    const reply = await run(
      ["send", "--from", "a", "--to", "b", "--body", "x", "--await-reply", "100"],
      prefix,
    );
    expect(reply.code).toBe(2);
    expect(reply.stderr).toMatch(/100 is over the maximum of 45/);
  });
});

describe("switchboard send", () => {
  it("refuses a broken JSON body unless --text, and senders nobody registered", async () => {
    const prefix = fx.newPrefix();
    await register(prefix, "alice", "bob");
    const validate = new Keys(prefix).stream("validate");
    const broken = await run(
      ["send", "--from", "alice", "--to", "bob", "--body", '{"review": "please"'],
      prefix,
    );
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(
      /^switchboard: --body starts like JSON but is not: .*at position 19.*add --text/,
    );
    expect(await fx.redis.exists(validate)).toBe(0);
    const text = await run(
      ["send", "--from", "alice", "--to", "bob", "--text", "--body", '{"review": "please"'],
      prefix,
    );
    expect(text.code).toBe(0);
    const nobody = await run(["send", "--from", "nobody", "--to", "bob", "--body", "x"], prefix);
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toMatch(
      /--from 'nobody' is not a registered agent.*switchboard agents register nobody/,
    );
    expect(await fx.redis.xlen(validate)).toBe(1);
  });

  it("refuses a --file line from nobody, or with a body over the limit, at its line", async () => {
    const prefix = fx.newPrefix();
    await register(prefix, "alice", "bob");
    const file = join(fx.dir, `${prefix}.jsonl`);
    const lines = [
      { from: "nobody", to: "bob", body: 1 },
      { to: "bob", body: "x".repeat(100) },
      { to: "bob", body: "fits" },
    ];
    await writeFile(file, lines.map((line) => JSON.stringify(line)).join("\n") + "\n");
    const result = await run(["send", "--file", file, "--from", "alice"], prefix);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^line 1: sender 'nobody' is not a registered agent; register it first: switchboard agents register nobody/m,
    );
    expect(result.stderr).toMatch(/^line 2: body is 102 bytes, over the limit of 64/m);
    expect(result.stdout).toMatch(/^sent 1 message \(2 rejected lines\) in /);
    expect(await fx.redis.xlen(new Keys(prefix).stream("validate"))).toBe(1);
  });
});

describe("error wording", () => {
  it("names CLI commands and options at the CLI, and the tools over MCP", async () => {
    const prefix = fx.newPrefix();
    await register(prefix, "rev");
    const taken = await run(["agents", "register", "rev"], prefix);
    expect(taken.stderr).toMatch(/registered already .*; give its token with --token/);
    expect(taken.stderr).not.toMatch(/Authorization|SWITCHBOARD_TOKEN/);
    const unknown = await run(["send", "--from", "rev", "--to", "zed", "--body", "x"], prefix);
    expect(unknown.stderr).toBe(
      "switchboard: no agent named 'zed'; `switchboard agents` shows who is registered (--to)\n",
    );

    const serve = await startServe(cliEnv(prefix, fx.pipeline));
    const agent = await joinAs(serve.url, "mcp-agent", "legacy");
    const sent = await callRaw(agent.client, "send_message", { to: ["zed"], body: "x" });
    expect(sent.isError).toBe(true);
    expect(textOf(sent)).toMatch(
      /^NOT_FOUND: no agent named 'zed'; list_agents shows who is registered/,
    );
    const waited = await callRaw(agent.client, "fetch_inbox", { wait_seconds: 120 });
    expect(waited.isError).toBe(true);
    expect(textOf(waited)).toMatch(/wait at most 60 seconds/);
    const stranger = await connectLegacy(serve.url);
    const takenOverMcp = await callRaw(stranger, "register_agent", { name: "rev" });
    expect(textOf(takenOverMcp)).toMatch(/present its token \(Authorization: Bearer/);
    await serve.stop();
  }, 60_000);
});

describe("output for people", () => {
  it("keeps log lines out of one-shot commands unless a level is asked for", async () => {
    const prefix = fx.newPrefix();
    const registered = await run(["agents", "register", "quiet"], prefix);
    expect(registered.stdout).toMatch(/^registered quiet\ntoken: sbt_/);
    expect(registered.stderr).not.toContain('"level"');
    const removed = await run(["agents", "remove", "quiet", "--json"], prefix);
    expect(JSON.parse(removed.stdout)).toEqual({ name: "quiet", removed: true });
    expect(removed.stderr).toBe("");
    const loud = await run(["agents", "register", "loud", "--log-level", "info"], prefix);
    expect(loud.stderr).toContain('"msg":"agent registered"');
    const admin = await run(["agents", "admin", "loud", "--json"], prefix);
    expect(JSON.parse(admin.stdout)).toEqual({ name: "loud", role: "admin" });
    const checked = await run(["pipeline", "check", fx.pipeline, "--json"], prefix);
    expect(JSON.parse(checked.stdout)).toMatchObject({ ok: true, file: fx.pipeline });
  });
});
