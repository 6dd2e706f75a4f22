import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Keys } from "../../src/redis/keys.js";
import { cliEnv, run as runCli } from "../support/cli.js";
import { seedDeadLetters } from "../support/dlq.js";
import { connect, deleteByPrefix, testPrefix } from "../support/redis.js";

/** `switchboard dlq` as an operator runs it: the real CLI against seeded dead letters. */

let redis: Redis;
const prefixes: string[] = [];

function newPrefix(): string {
  const prefix = testPrefix();
  prefixes.push(prefix);
  return prefix;
}

beforeAll(async () => {
  redis = await connect();
});

afterAll(async () => {
  for (const prefix of prefixes) await deleteByPrefix(redis, prefix);
  await redis.quit();
});

const HOUR = 3_600_000;
/** Each CLI run starts a Node process: seconds apiece on a busy machine. */
const SLOW = 120_000;

/** A prefix with three dead letters: bob's two timeouts (3 h and 1 min old) and a poison entry. */
async function seeded(): Promise<{ prefix: string; keys: Keys; ids: string[] }> {
  const prefix = newPrefix();
  const keys = new Keys(prefix);
  const now = Date.now();
  const ids = await seedDeadLetters(redis, keys.stream("dead"), [
    { at: now - 3 * HOUR, rcpt: "bob", from: "alice", mid: "m1" },
    { at: now - 2 * HOUR, stage: "route", code: "POISON", from: "carol", mid: "m2" },
    { at: now - 60_000, rcpt: "bob", from: "alice", mid: "m3" },
  ]);
  return { prefix, keys, ids };
}

const run = (prefix: string, ...args: string[]) => runCli(["dlq", ...args], cliEnv(prefix));

describe("switchboard dlq list and show", () => {
  it(
    "lists newest first, filtered, as a table or JSON",
    async () => {
      const { prefix, ids } = await seeded();
      const table = await run(prefix, "list");
      expect(table.code).toBe(0);
      const rows = table.stdout.trimEnd().split("\n");
      expect(rows[0]).toMatch(/^id\s+age\s+stage\s+code\s+agents\s+attempts\s+error$/);
      expect(rows.slice(1, 4).map((row) => row.split(/\s+/)[0])).toEqual([...ids].reverse());
      expect(rows[1]).toMatch(/ 1m\s+deliver\s+WEBHOOK_TIMEOUT\s+alice → bob\s+3\s/);
      expect(rows.at(-1)).toBe("3 shown, newest first; 3 in the store");

      const json = await run(prefix, "list", "--agent", "bob", "--older-than", "1h", "--json");
      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toMatchObject({
        dead_letters: [{ id: ids[0], recipient: "bob", code: "WEBHOOK_TIMEOUT", attempts: 3 }],
        next_cursor: null,
        depth: 3,
      });
      const paged = JSON.parse((await run(prefix, "list", "--limit", "1", "--json")).stdout) as {
        next_cursor: string;
      };
      expect(paged.next_cursor).toBe(ids[2]);
      const none = await run(prefix, "list", "--code", "inbox_full");
      expect(none.stdout).toBe("(none match; 3 in the store)\n");
    },
    SLOW,
  );

  it(
    "shows one dead letter in full, and names the fix for a missing one",
    async () => {
      const { prefix, ids } = await seeded();
      const shown = await run(prefix, "show", ids[1]!);
      expect(shown.code).toBe(0);
      expect(shown.stdout).toMatch(/^dead letter\s+\S+ \(2h ago\)$/m);
      expect(shown.stdout).toMatch(/^error\s+POISON \(internal\): POISON at/m);
      expect(shown.stdout).toMatch(/^entry\s+t=msg mid=m2$/m);
      const json = JSON.parse((await run(prefix, "show", ids[1]!, "--json")).stdout) as object;
      expect(json).toMatchObject({ id: ids[1], stage: "route", history: [{ code: "POISON" }] });

      const missing = await run(prefix, "show", "1-0");
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(
        /^switchboard: no dead letter 1-0 .*`switchboard dlq list`\n$/,
      );
    },
    SLOW,
  );

  it(
    "refuses bad options with one line naming the option",
    async () => {
      const prefix = newPrefix();
      const cases: [string[], RegExp][] = [
        [
          ["list", "--older-than", "5x"],
          /option '--older-than <age>' argument '5x' is invalid\. expected a duration such as 30s/,
        ],
        [["list", "--newer-than", "-1h"], /option '--newer-than <age>' argument '-1h' is invalid/],
        [
          ["list", "--code", "NOPE"],
          /option '--code <code>' argument 'NOPE' is invalid\. unknown code; the codes are INVALID_INPUT,/,
        ],
        [["list", "--stage", "send"], /option '--stage <stage>' argument 'send' is invalid/],
        [["replay"], /name the dead letters by id \(see `switchboard dlq list`\), or give --all/],
        [["replay", "1-0", "--agent", "bob"], /--agent selects dead letters for --all; add --all/],
        [["replay", "1-0", "--all"], /give dead-letter ids or --all, not both/],
        [["purge", "1-0", "not-an-id", "--yes"], /'not-an-id' is not a dead-letter id/],
      ];
      for (const [args, expected] of cases) {
        const result = await run(prefix, ...args);
        expect(result.code, args.join(" ")).toBe(2);
        expect(result.stderr.trimEnd().split("\n"), args.join(" ")).toHaveLength(1);
        expect(result.stderr, args.join(" ")).toMatch(expected);
      }
    },
    SLOW,
  );
});

describe("switchboard dlq replay and purge", () => {
  it(
    "replays once, says so the second time, and names the fix for a missing id",
    async () => {
      const { prefix, keys, ids } = await seeded();
      const first = await run(prefix, "replay", ids[2]!);
      expect(first.code).toBe(0);
      const entry = /^replayed \S+ as entry (\S+)$/m.exec(first.stdout)?.[1];
      expect(entry).toBeDefined();
      const again = await run(prefix, "replay", ids[2]!, "1-0");
      expect(again.code).toBe(1);
      expect(again.stdout).toContain(`${ids[2]} was replayed already, at `);
      expect(again.stdout).toContain(`as entry ${entry}`);
      expect(again.stderr).toMatch(
        /^switchboard: no dead letter 1-0 \(replayed or purged already, trimmed, or mistyped\); list ids with `switchboard dlq list`\n$/,
      );
      const deliver = await redis.xrange(keys.stream("deliver"), "-", "+");
      expect(deliver).toEqual([[entry, ["t", "rcpt", "mid", "m3", "rcpt", "bob"]]]);
    },
    SLOW,
  );

  it(
    "replays everything a filter selects; purges only with --yes when not on a terminal",
    async () => {
      const { prefix, keys, ids } = await seeded();
      const replayed = await run(prefix, "replay", "--all", "--agent", "bob", "--json");
      expect(replayed.code).toBe(0);
      expect(JSON.parse(replayed.stdout)).toEqual({
        replayed: 2,
        already_replayed: 0,
        not_found: 0,
        unreplayable: 0,
      });
      expect(await redis.xlen(keys.stream("deliver"))).toBe(2);

      const refused = await run(prefix, "purge", "--all");
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/add --yes to confirm \(stdin is not a terminal/);
      expect(await redis.xlen(keys.stream("dead"))).toBe(1);

      const purged = await run(prefix, "purge", "--all", "--stage", "route", "--yes");
      expect(purged).toMatchObject({ code: 0, stdout: "purged 1 dead letter\n" });
      const nothing = await run(prefix, "purge", ids[1]!, "--yes");
      expect(nothing.code).toBe(1);
      expect(nothing.stderr).toContain(`no dead letter ${ids[1]}`);
      expect((await run(prefix, "list")).stdout).toBe("(no dead letters)\n");
    },
    SLOW,
  );
});
