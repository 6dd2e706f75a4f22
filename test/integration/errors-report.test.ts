import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadPipeline, parsePipeline } from "../../src/config/pipeline.js";
import { formatReport } from "../../src/cli/commands/errors.js";
import { ALERT_TYPE, ALERTS_TOPIC } from "../../src/failures/escalate.js";
import { readErrorReport } from "../../src/failures/report.js";
import { readMessageRecord } from "../../src/history/record.js";
import { Keys } from "../../src/redis/keys.js";
import { cliEnv, run } from "../support/cli.js";
import { seedDeadLetters, seedErrors, type SeededError } from "../support/dlq.js";
import { eventually, fastPipeline, Harness } from "../support/harness.js";
import { connect, deleteByPrefix, testPrefix } from "../support/redis.js";
import { WebhookServer } from "../support/webhook-server.js";

/** `switchboard errors` over an error history written in the documented format. */

let redis: Redis;
const prefixes: string[] = [];

beforeAll(async () => {
  redis = await connect();
});

afterAll(async () => {
  for (const prefix of prefixes) await deleteByPrefix(redis, prefix);
  await redis.quit();
});

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const BOB = "https://bob.example.com:8443";

/** A prefix whose history holds ten errors over two days, and one dead letter. */
async function seeded(now: number): Promise<Keys> {
  const prefix = testPrefix();
  prefixes.push(prefix);
  const keys = new Keys(prefix);
  const timeout = { code: "WEBHOOK_TIMEOUT", cat: "delivery", agent: "bob", endpoint: BOB };
  const errors: SeededError[] = [
    { at: now - 2 * 24 * HOUR, code: "POISON", cat: "internal", stage: "route" }, // outside 24h
    { at: now - 5 * HOUR, ...timeout },
    { at: now - 4 * HOUR, ...timeout },
    { at: now - 3 * HOUR, code: "INBOX_FULL", cat: "quota", agent: "carol" },
    { at: now - 30 * MINUTE, ...timeout },
    {
      at: now - 20 * MINUTE,
      code: "WEBHOOK_SERVER_ERROR",
      cat: "delivery",
      agent: "dave",
      endpoint: "https://dave.example.com",
    },
    { at: now - 4 * MINUTE, ...timeout },
    { at: now - 3 * MINUTE, code: "UNAUTHENTICATED", cat: "auth", sev: "info", stage: "front" },
    { at: now - 2 * MINUTE, ...timeout },
    { at: now - MINUTE, code: "INBOX_FULL", cat: "quota", agent: "carol" },
  ];
  await seedErrors(redis, keys.errors(), errors);
  await seedDeadLetters(redis, keys.stream("dead"), [{ at: now - HOUR, rcpt: "bob" }]);
  return keys;
}

describe("the error report", () => {
  it("counts by category, code, stage, agent and endpoint over sliding windows, with advice", async () => {
    const now = Date.now();
    const keys = await seeded(now);
    const report = await readErrorReport(redis, keys, loadPipeline(), { now });
    expect(report.windows.map((w) => [w.label, w.total])).toEqual([
      ["5m", 4],
      ["1h", 6],
      ["24h", 9],
    ]);
    expect(report.by_category).toEqual([
      { name: "delivery", counts: { "5m": 2, "1h": 4, "24h": 6 } },
      { name: "quota", counts: { "5m": 1, "1h": 1, "24h": 2 } },
      { name: "auth", counts: { "5m": 1, "1h": 1, "24h": 1 } },
    ]);
    expect(report.by_code.map((r) => [r.name, r.counts["24h"]])).toEqual([
      ["WEBHOOK_TIMEOUT", 5],
      ["INBOX_FULL", 2],
      ["UNAUTHENTICATED", 1],
      ["WEBHOOK_SERVER_ERROR", 1],
    ]);
    expect(report.by_stage).toEqual([
      { name: "deliver", counts: { "5m": 3, "1h": 5, "24h": 8 } },
      { name: "front", counts: { "5m": 1, "1h": 1, "24h": 1 } },
    ]);
    expect(report.top_agents.map((r) => r.name)).toEqual(["bob", "carol", "dave"]);
    expect(report.top_endpoints).toEqual([
      { name: BOB, counts: { "5m": 2, "1h": 3, "24h": 5 } },
      { name: "https://dave.example.com", counts: { "5m": 0, "1h": 1, "24h": 1 } },
    ]);
    expect(report.advice[0]).toEqual({
      code: "WEBHOOK_TIMEOUT",
      category: "delivery",
      severity: "warning",
      count: 5,
      advice: expect.stringMatching(/answer 2xx fast .* raise `webhooks.timeoutMs`/),
    });
    expect(report.dead_letters).toBe(1);
    expect(report.history).toMatchObject({ length: 10, max_length: 10_000 });

    const narrow = await readErrorReport(redis, keys, loadPipeline(), {
      now,
      windows: [{ label: "10m", ms: 10 * MINUTE }],
      top: 1,
    });
    expect(narrow.windows).toEqual([{ label: "10m", ms: 10 * MINUTE, total: 4 }]);
    expect(narrow.top_agents).toEqual([{ name: "bob", counts: { "10m": 2 } }]);
  });

  it("says when the capped history no longer reaches back over the longest window", async () => {
    const now = Date.now();
    const keys = await seeded(now);
    const capped = (maxLen: number) =>
      parsePipeline({ version: 1, errors: { history: { maxLen } } }, "capped");
    // Full, but its oldest error is two days old: every error of the last day is counted.
    const full = await readErrorReport(redis, keys, capped(10), { now });
    expect(full.history.oldest_at).toBe(new Date(now - 2 * 24 * HOUR).toISOString());
    expect(formatReport(full)).not.toContain("note:");
    // Trimmed to its latest five, the oldest 20 minutes old.
    await redis.xtrim(keys.errors(), "MAXLEN", 5);
    const trimmed = formatReport(await readErrorReport(redis, keys, capped(5), { now }));
    expect(trimmed).toMatch(
      /\nnote: the history keeps the latest 5 errors \(errors.history.maxLen\), the oldest from 20m ago: counts over 24h are a floor$/,
    );
  });
});

describe("switchboard errors", () => {
  it("prints the report as tables with what to do, or as JSON", async () => {
    const keys = await seeded(Date.now());
    const text = await run(["errors"], cliEnv(keys.prefix));
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^errors\s+5m\s+1h\s+24h\ntotal\s+4\s+6\s+9\n/);
    expect(text.stdout).toMatch(/^WEBHOOK_TIMEOUT\s+2\s+3\s+5$/m);
    expect(text.stdout).toMatch(/^https:\/\/bob\.example\.com:8443\s+2\s+3\s+5$/m);
    expect(text.stdout).toContain("dead letters: 1 (switchboard dlq list)");
    expect(text.stdout).toMatch(
      /^ {2}WEBHOOK_TIMEOUT \(delivery, warning; 5 in 24h\): make the endpoint answer 2xx fast/m,
    );
    const json = await run(["errors", "--window", "5m,2h", "--json"], cliEnv(keys.prefix));
    expect(JSON.parse(json.stdout)).toMatchObject({
      windows: [
        { label: "5m", total: 4 },
        { label: "2h", total: 6 },
      ],
      dead_letters: 1,
    });
    const bad = await run(["errors", "--window", "5m,soon"], cliEnv(keys.prefix));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      "switchboard: option '--window <list>' argument '5m,soon' is invalid. 'soon' is not a duration; expected a list such as 5m,1h,24h.\n",
    );
  }, 120_000);
});

describe("Switchboard's own alerts", () => {
  let h: Harness | undefined;
  let server: WebhookServer | undefined;
  afterEach(async () => {
    await h?.close();
    await server?.close();
  });

  it("one dead letter is one error: its alert, with no subscriber, is routed to no one", async () => {
    server = await WebhookServer.start(() => ({ status: 400 })); // dead-lettered at once
    h = new Harness(fastPipeline());
    await h.agents("alice");
    await h.registry.register({ name: "hook", webhook_url: server.url });
    await h.worker();
    const id = await h.send({ from: "alice", to: ["hook"], body: "refused" });
    // The alert about the dead letter goes to topic switchboard.alerts, which nobody
    // subscribes to; wait until persist has recorded where it stands.
    const harness = h;
    const alert = await eventually(async () => {
      const validate = await harness.redis.xrange(harness.stream("validate"), "-", "+");
      const alertId = validate
        .map(([, fields]) => fields[fields.indexOf("mid") + 1]!)
        .find((mid) => mid !== id);
      if (alertId === undefined) return undefined;
      const record = await readMessageRecord(harness.redis, harness.keys, alertId);
      const status = record?.envelope?.type === ALERT_TYPE && record.status;
      return status !== undefined && status !== false && status.status !== "accepted" && status;
    });
    expect(alert).toMatchObject({
      status: "routed",
      summary: `routed to no one: no other agent subscribes to topic '${ALERTS_TOPIC}'`,
    });

    const report = await run(["errors", "--json"], cliEnv(h.keys.prefix));
    expect(report.code, report.stderr).toBe(0);
    const { windows, by_code } = JSON.parse(report.stdout) as {
      windows: { label: string; total: number }[];
      by_code: { name: string }[];
    };
    expect(windows[0]).toMatchObject({ label: "5m", total: 1 });
    expect(by_code.map((c) => c.name)).toEqual(["WEBHOOK_REJECTED"]);
  }, 60_000);
});
