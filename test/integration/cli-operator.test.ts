import { createServer, type Server } from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Keys } from "../../src/redis/keys.js";
import {
  cliEnv,
  killAll,
  run as runCli,
  start as startCli,
  startListening,
} from "../support/cli.js";
import { eventually } from "../support/harness.js";
import { useCliFixture } from "../support/cli-fixture.js";

/**
 * What an operator trips over: a port in use found after the workers started, a mistyped
 * prefix that shows (and creates) an empty system, consumers that undercount workers, a
 * thread table that contradicts itself.
 */

const PIPELINE = `version: 1
defaults:
  blockMs: 200
  janitorIntervalMs: 500
`;

const fx = useCliFixture(PIPELINE);

const env = (prefix: string): NodeJS.ProcessEnv => cliEnv(prefix, fx.pipeline);
const run = (args: string[], prefix: string, vars: NodeJS.ProcessEnv = {}) =>
  runCli(args, { ...env(prefix), ...vars });

async function register(prefix: string, ...names: string[]): Promise<void> {
  for (const name of names) expect((await run(["agents", "register", name], prefix)).code).toBe(0);
}

/** Every key under a prefix, as `redis-cli --scan --pattern 'prefix*'` lists them. */
async function keysOf(prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await fx.redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== "0");
  return found;
}

afterEach(killAll);

describe("a port in use", () => {
  let taken: Server;
  let port: number;

  beforeAll(async () => {
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    port = (taken.address() as AddressInfo).port;
  });

  afterAll(() => new Promise<void>((resolve) => taken.close(() => resolve())));

  it("stops serve before any stage starts, naming --port and SWITCHBOARD_PORT", async () => {
    const prefix = fx.newPrefix();
    const result = await run(["serve", "--port", String(port)], prefix);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `switchboard: port ${port} on 127.0.0.1 is in use (another switchboard?); choose another with --port (SWITCHBOARD_PORT), or 0 for any free port\n`,
    );
    expect(result.stderr).not.toMatch(/unexpected error|worker started|\n\s+at /);
    expect(await fx.redis.exists(new Keys(prefix).stream("validate"))).toBe(0);
  });

  it("stops worker --metrics-port (set by its variable) the same way", async () => {
    const prefix = fx.newPrefix();
    const result = await run(["worker"], prefix, { SWITCHBOARD_METRICS_PORT: String(port) });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      "choose another with --metrics-port (SWITCHBOARD_METRICS_PORT)",
    );
    expect(result.stderr).not.toMatch(/unexpected error|worker started/);
  });
});

describe("read-only commands", () => {
  it("create nothing, and say when no Switchboard has run under the prefix", async () => {
    const prefix = fx.newPrefix();
    const note = new RegExp(
      `no Switchboard has run under prefix '${prefix}' on redis://[^;]+; check --prefix / SWITCHBOARD_PREFIX`,
    );
    const status = await run(["status"], prefix);
    expect(status.code).toBe(1);
    expect(status.stderr).toMatch(note);
    expect(status.stdout).toBe("");
    const others = await Promise.all(
      [
        ["agents", "list"],
        ["thread", "t-1"],
        ["errors"],
        ["dlq", "list"],
        ["dlq", "show", "1-0"],
        ["inbox", "--agent", "bob", "--peek"],
        ["inbox", "--agent", "bob"],
      ].map((args) => run(args, prefix)),
    );
    for (const result of others) expect(result.stderr).toMatch(note);
    expect(await keysOf(prefix)).toEqual([]);
  }, 60_000);
});

describe("switchboard status", () => {
  it("counts the live worker processes of each stage", async () => {
    const prefix = fx.newPrefix();
    const workers = await Promise.all(
      [0, 1].map(() =>
        startListening(["worker", "--metrics-port", "0"], env(prefix), "metrics listening"),
      ),
    );
    await eventually(async () => {
      const report = await run(["status", "--json"], prefix);
      const stages = (JSON.parse(report.stdout) as { stages: Record<string, { workers: number }> })
        .stages;
      return Object.values(stages).every((s) => s.workers === 2);
    }, 20_000);
    expect((await workers[0]!.stop()).code).toBe(0);
    const table = await run(["status"], prefix);
    expect(table.stdout).toMatch(/^validate\s.*\s1\s+-$/m);
    expect(table.stdout).toMatch(/\bworkers\b/);
    expect((await workers[1]!.stop()).code).toBe(0);
  }, 60_000);
});

describe("switchboard thread", () => {
  it("shows each recipient's status, and the target of a message that reached no one", async () => {
    const prefix = fx.newPrefix();
    await register(prefix, "alice", "bob");
    startCli(["worker"], env(prefix));
    const send = async (...args: string[]) =>
      (
        JSON.parse((await run(["send", "--from", "alice", ...args, "--json"], prefix)).stdout) as {
          thread_id: string;
        }
      ).thread_id;
    const answered = await send("--to", "bob", "--body", "ping");
    const unanswered = await send("--capability", "nobody-has", "--body", "anyone?");
    await eventually(async () => (await fx.redis.xlen(new Keys(prefix).inbox("bob"))) === 1);
    expect((await run(["inbox", "--agent", "bob", "--ack"], prefix)).code).toBe(0);
    const shown = async (thread: string, word: string) =>
      eventually(async () => {
        const result = await run(["thread", thread], prefix);
        return new RegExp(`\\b${word}\\b`).test(result.stdout) && result.stdout;
      }, 20_000);
    expect(await shown(answered, "acked")).toMatch(/^\s*1\s+\S+\s+alice\s+bob\s+acked\s+ping$/m);
    const table = await shown(unanswered, "undeliverable");
    expect(table).toMatch(
      /^\s*1\s+\S+\s+alice\s+capability nobody-has \(any\)\s+undeliverable\s+anyone\?$/m,
    );
    expect(table).not.toMatch(/\brouted\b|\s-\s/);
  }, 90_000);
});
