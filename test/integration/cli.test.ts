import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Keys } from "../../src/redis/keys.js";
import { cliEnv, finished, killAll, run as runCli, start as startCli } from "../support/cli.js";
import { eventually } from "../support/harness.js";
import { connect, deleteByPrefix, testPrefix } from "../support/redis.js";

/** A pipeline that notices new entries quickly, so tests need not wait for a 2 s block. */
const FAST_PIPELINE = `version: 1
defaults:
  blockMs: 200
  janitorIntervalMs: 500
`;

let dir: string;
let fastPipeline: string;
let redis: Redis;
const prefixes: string[] = [];

function newPrefix(): string {
  const prefix = testPrefix();
  prefixes.push(prefix);
  return prefix;
}

const run = (args: string[], prefix: string, input = "") =>
  runCli(args, cliEnv(prefix, fastPipeline), input);
const start = (args: string[], prefix: string) => startCli(args, cliEnv(prefix, fastPipeline));

/** Registers agents with `switchboard agents register`. */
async function register(prefix: string, ...names: string[]): Promise<void> {
  for (const name of names) expect((await run(["agents", "register", name], prefix)).code).toBe(0);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "switchboard-cli-"));
  fastPipeline = join(dir, "fast.yaml");
  await writeFile(fastPipeline, FAST_PIPELINE);
  redis = await connect();
});

afterEach(killAll);

afterAll(async () => {
  for (const prefix of prefixes) await deleteByPrefix(redis, prefix);
  await redis.quit();
  await rm(dir, { recursive: true, force: true });
});

describe("switchboard pipeline check", () => {
  it("prints ok and the stages of a valid file", async () => {
    const result = await run(["pipeline", "check", fastPipeline], newPrefix());
    expect(result.code).toBe(0);
    expect(result.stdout.split("\n")[0]).toBe(`ok: ${fastPipeline}`);
    expect(result.stdout).toMatch(/^validate\s+validate\s+validate\s+128\s+200\s/m);
  });

  it("exits 2 with one line naming the field when a stage is unknown", async () => {
    const bad = join(dir, "bad.yaml");
    await writeFile(bad, "version: 1\nstages:\n  nope: {}\n");
    const result = await run(["pipeline", "check", bad], newPrefix());
    expect(result.code).toBe(2);
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/^switchboard: .*field `stages`: unknown stage 'nope'/);
  });
});

describe("switchboard worker", () => {
  it("exits 2 listing the valid stages for an unknown one", async () => {
    const result = await run(["worker", "--stages", "validate,nope"], newPrefix());
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^switchboard: unknown stage 'nope'/);
    expect(result.stderr).toContain("validate, route, deliver, persist");
  });
});

describe("switchboard send, serve and inbox", () => {
  it("delivers a sent message to the inbox and stops on SIGTERM with code 0", async () => {
    const prefix = newPrefix();
    await register(prefix, "alice", "bob");
    const sent = await run(
      ["send", "--from", "alice", "--to", "bob", "--subject", "hi", "--body", '{"n":1}'],
      prefix,
    );
    expect(sent.code).toBe(0);
    const messageId = /^accepted (\S+) \(thread \S+\)$/.exec(sent.stdout.trim())?.[1];
    expect(messageId).toBeDefined();

    const serve = start(["serve", "--port", "0"], prefix);
    const served = finished(serve);
    const inbox = new Keys(prefix).inbox("bob");
    await eventually(async () => (await redis.xlen(inbox)) === 1);

    const listed = await run(["inbox", "--agent", "bob", "--json"], prefix);
    expect(listed.code).toBe(0);
    const items = JSON.parse(listed.stdout) as Record<string, unknown>[];
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      message_id: messageId,
      from: "alice",
      subject: "hi",
      thread_id: messageId,
      seq: 1,
      body: { n: 1 },
    });

    serve.kill("SIGTERM");
    const result = await served;
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("redis: using");
  });
});

describe("switchboard send --file", () => {
  it("sends the good lines, reports the bad ones and exits 1", async () => {
    const prefix = newPrefix();
    await register(prefix, "loader", "carol", "bob", "dave");
    const file = join(dir, `${prefix}.jsonl`);
    const lines = [
      { to: "bob", body: 1 },
      { to: "not a name", body: 2 },
      { from: "carol", to: ["bob", "dave"], body: "three" },
      { to: "bob,dave", body: { four: 4 } },
      { to: "bob,zed", body: 5 },
    ];
    await writeFile(file, lines.map((line) => JSON.stringify(line)).join("\n") + "\n");
    const result = await run(["send", "--file", file, "--from", "loader", "--json"], prefix);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ sent: 3, rejected: 2, lines: 5 });
    expect(result.stderr).toMatch(/^line 2: field `to\[0\]`: /m);
    expect(result.stderr).toMatch(/^line 5: .*no agent named 'zed'.*field `to`/m);
    expect(await redis.xlen(new Keys(prefix).stream("validate"))).toBe(3);
  });

  it("reads stdin with `--file -` and prints a summary line", async () => {
    const prefix = newPrefix();
    await register(prefix, "a", "b");
    const input = '{"from":"a","to":"b","body":1}\n\n{"from":"a","to":"b","body":2}\n';
    const result = await run(["send", "--file", "-"], prefix, input);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^sent 2 messages \(0 rejected lines\) in [\d.]+ s, [\d,]+ msg\/s$/m,
    );
  });
});

describe("switchboard status", () => {
  it("reports every stage and the dead letters as one JSON object", async () => {
    const prefix = newPrefix();
    await register(prefix, "a", "b");
    expect((await run(["send", "--from", "a", "--to", "b", "--body", "x"], prefix)).code).toBe(0);
    const result = await run(["status", "--json"], prefix);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as {
      prefix: string;
      stages: Record<string, Record<string, unknown>>;
      dead_letters: { stream: string; length: number };
    };
    expect(report.prefix).toBe(prefix);
    expect(Object.keys(report.stages)).toEqual(["validate", "route", "deliver", "persist"]);
    expect(report.stages.validate).toEqual({
      stream: new Keys(prefix).stream("validate"),
      group: "validate",
      length: 1,
      group_exists: false,
      lag: 0,
      pending: 0,
      consumers: 0,
      workers: 0,
      oldest_pending_ms: null,
    });
    expect(report.dead_letters).toEqual({ stream: new Keys(prefix).stream("dead"), length: 0 });
  });
});

describe("switchboard agents and thread", () => {
  it("registers, lists and removes agents; refuses mail for unknown ones", async () => {
    const prefix = newPrefix();
    const registered = await run(
      ["agents", "register", "rev", "--capabilities", "code-review,python@3.12", "--json"],
      prefix,
    );
    expect(registered.code).toBe(0);
    expect(JSON.parse(registered.stdout)).toMatchObject({
      name: "rev",
      capabilities: ["code-review", "python@3.12"],
      created: true,
      token: expect.stringMatching(/^sbt_/),
    });
    const taken = await run(["agents", "register", "rev"], prefix);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/agent name 'rev' is registered already/);
    const listed = await run(["agents", "--capability", "python@3", "--json"], prefix);
    expect((JSON.parse(listed.stdout) as { name: string }[]).map((a) => a.name)).toEqual(["rev"]);
    const unknown = await run(["send", "--from", "rev", "--to", "nobody", "--body", "x"], prefix);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no agent named 'nobody'/);
    expect((await run(["agents", "remove", "rev"], prefix)).code).toBe(0);
    expect((await run(["agents", "--json"], prefix)).stdout.trim()).toBe("[]");
  });

  it("shows a thread in order with each recipient's status", async () => {
    const prefix = newPrefix();
    await register(prefix, "alice", "bob");
    const serve = start(["serve", "--port", "0"], prefix);
    const first = JSON.parse(
      (await run(["send", "--from", "alice", "--to", "bob", "--body", "ping", "--json"], prefix))
        .stdout,
    ) as { message_id: string; thread_id: string };
    await run(
      ["send", "--from", "bob", "--to", "alice", "--reply-to", first.message_id, "--body", "pong"],
      prefix,
    );
    const thread = await eventually(async () => {
      const result = await run(["thread", first.thread_id, "--json"], prefix);
      const messages =
        result.code === 0
          ? (JSON.parse(result.stdout) as {
              seq: number;
              body: string;
              recipients: Record<string, { status: string }>;
            }[])
          : [];
      return (
        messages.length === 2 &&
        messages.every((m) => Object.values(m.recipients).every((r) => r.status === "delivered")) &&
        messages
      );
    });
    expect(thread.map((m) => [m.seq, m.body])).toEqual([
      [1, "ping"],
      [2, "pong"],
    ]);
    const table = await run(["thread", first.thread_id], prefix);
    expect(table.stdout).toMatch(/^\s*1\s+\S+\s+alice\s+bob\s+delivered\s+ping/m);
    serve.kill("SIGTERM");
    expect((await finished(serve)).code).toBe(0);
  });
});
