import { afterEach, describe, expect, it } from "vitest";
import { DeadLetters } from "../../src/dlq/store.js";
import { Field } from "../../src/streams/entry.js";
import type { StageFactory } from "../../src/pipeline/stage.js";
import { SwitchboardError } from "../../src/protocol/errors.js";
import { STAGE_FACTORIES } from "../../src/stages/index.js";
import { seedDeadLetters } from "../support/dlq.js";
import { eventually, fastPipeline, Harness } from "../support/harness.js";

let h: Harness;
let store: DeadLetters;
afterEach(async () => h.close());

function setUp(harness = new Harness()): void {
  h = harness;
  store = new DeadLetters(h.redis, h.keys, h.pipeline);
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Six dead letters over the last two days, oldest first. */
async function seedSix(now: number): Promise<string[]> {
  return seedDeadLetters(h.redis, h.stream("dead"), [
    { at: now - 2 * 24 * HOUR, stage: "route", code: "POISON", from: "alice", mid: "m1" },
    { at: now - 3 * HOUR, rcpt: "bob", from: "alice", mid: "m2" },
    { at: now - 2 * HOUR, rcpt: "carol", from: "alice", code: "WEBHOOK_REJECTED", mid: "m3" },
    // The richer fields absent: the recipient only in the original entry, no code, no category.
    {
      at: now - HOUR,
      mid: "m4",
      omit: ["code", "cat", "hist", "first", "last", "trace"],
      original: { t: "rcpt", mid: "m4", rcpt: "bob" },
    },
    { at: now - 10 * MINUTE, stage: "validate", omit: ["mid", "why", "code", "cat"] },
    { at: now - MINUTE, rcpt: "dave", from: "erin", mid: "m6" },
  ]);
}

describe("the dead-letter store", () => {
  it("lists newest first and filters by agent, stage, code, category and age", async () => {
    setUp();
    const now = Date.now();
    const ids = await seedSix(now);
    const listed = async (filter: object, limit = 20) =>
      (await store.list(filter, { limit, now })).dead_letters.map((d) => d.id);

    expect(await listed({})).toEqual([...ids].reverse());
    expect(await listed({ agent: "bob" })).toEqual([ids[3], ids[1]]);
    expect(await listed({ agent: "alice" })).toEqual([ids[2], ids[1], ids[0]]);
    expect(await listed({ stage: "route" })).toEqual([ids[0]]);
    expect(await listed({ code: "WEBHOOK_REJECTED" })).toEqual([ids[2]]);
    // A code from `why` when the entry has no `code` field; its category from the code.
    expect(await listed({ code: "WEBHOOK_TIMEOUT", category: "delivery" })).toEqual([
      ids[5],
      ids[3],
      ids[1],
    ]);
    expect(await listed({ category: "internal" })).toEqual([ids[4], ids[0]]);
    expect(await listed({ olderThanMs: 90 * MINUTE })).toEqual([ids[2], ids[1], ids[0]]);
    expect(await listed({ newerThanMs: 90 * MINUTE })).toEqual([ids[5], ids[4], ids[3]]);
    expect(await listed({ olderThanMs: 30 * MINUTE, newerThanMs: 150 * MINUTE })).toEqual([
      ids[3],
      ids[2],
    ]);
    expect(await store.count({ agent: "alice" }, now)).toBe(3);
    expect(await store.count({}, now)).toBe(6);
    expect(await store.depth()).toBe(6);

    const [malformed] = (await store.list({ stage: "validate" }, { now })).dead_letters;
    expect(malformed).toMatchObject({ code: "INTERNAL", error: "no reason recorded" });
    expect(malformed?.message_id).toBeUndefined();
    const [old] = (await store.list({ agent: "bob" }, { limit: 1, now })).dead_letters;
    expect(old).toMatchObject({ id: ids[3], recipient: "bob", code: "WEBHOOK_TIMEOUT" });
    expect(old?.trace_id).toBeUndefined();
  });

  it("pages with a cursor, also under a filter", async () => {
    setUp();
    const now = Date.now();
    const ids = await seedSix(now);
    const first = await store.list({}, { limit: 4, now });
    expect(first.dead_letters.map((d) => d.id)).toEqual([ids[5], ids[4], ids[3], ids[2]]);
    expect(first.next_cursor).toBe(ids[2]);
    const second = await store.list({}, { limit: 4, after: first.next_cursor!, now });
    expect(second).toEqual({
      dead_letters: [
        expect.objectContaining({ id: ids[1] }),
        expect.objectContaining({ id: ids[0] }),
      ],
      next_cursor: null,
    });
    const alice = await store.list({ agent: "alice" }, { limit: 2, now });
    expect(alice.next_cursor).toBe(ids[1]);
    const rest = await store.list({ agent: "alice" }, { limit: 2, after: ids[1], now });
    expect(rest.dead_letters.map((d) => d.id)).toEqual([ids[0]]);
    expect(rest.next_cursor).toBeNull();
  });

  it("shows one in full: the envelope from its record, the attempts and the error", async () => {
    setUp();
    await h.agents("alice", "bob");
    const mid = await h.send({ from: "alice", to: ["bob"], subject: "hello", body: { n: 1 } });
    const [id] = await seedDeadLetters(h.redis, h.stream("dead"), [
      { at: Date.now(), mid, rcpt: "bob", from: "alice", attempts: 8 },
    ]);
    const full = await store.get(id!);
    expect(full).toMatchObject({
      id,
      message_id: mid,
      stage: "deliver",
      attempts: 8,
      why: { code: "WEBHOOK_TIMEOUT" },
      history: [{ code: "WEBHOOK_TIMEOUT" }],
      envelope: { id: mid, from: "alice", subject: "hello", body: { n: 1 } },
      original: { t: "rcpt", mid, rcpt: "bob" },
    });
    expect(await store.get("1-0")).toBeUndefined();
    await expect(store.get("nope")).rejects.toThrow(/'nope' is not a dead-letter id/);
  });

  it("replays once: a second replay reports the first; a missing one is not found", async () => {
    setUp();
    const now = Date.now();
    const [id, bare] = await seedDeadLetters(h.redis, h.stream("dead"), [
      { at: now - 1000, mid: "m1", rcpt: "bob", original: { t: "rcpt", mid: "m1", rcpt: "bob" } },
      { at: now - 500, original: {} },
    ]);
    const [first] = await store.replay([id!]);
    expect(first).toMatchObject({ id, result: "replayed", entry_id: expect.any(String) });
    const again = await store.replay([id!, "1-0", bare!]);
    expect(again).toEqual([
      { ...first, result: "already_replayed" },
      { id: "1-0", result: "not_found" },
      { id: bare, result: "unreplayable", reason: "it holds no original entry (o.* fields)" },
    ]);
    const entries = await h.redis.xrange(h.stream("deliver"), "-", "+");
    expect(entries).toEqual([[first!.entry_id, ["t", "rcpt", "mid", "m1", "rcpt", "bob"]]]);
    expect(await store.depth()).toBe(1);
    const error = await store.replay(["x"]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SwitchboardError);
    expect(error).toMatchObject({ code: "INVALID_INPUT", field: "ids" });
  });

  it("replays and purges everything a filter selects, in pages, with progress", async () => {
    setUp();
    const now = Date.now() - 10_000;
    const letters = Array.from({ length: 1200 }, (_, i) => ({
      at: now + i,
      rcpt: i % 3 === 0 ? "bob" : "carol",
      mid: `m${i}`,
    }));
    await seedDeadLetters(h.redis, h.stream("dead"), letters);
    const seen: number[] = [];
    const tally = await store.replayAll({ agent: "bob" }, (t) => seen.push(t.replayed));
    expect(tally).toEqual({ replayed: 400, already_replayed: 0, not_found: 0, unreplayable: 0 });
    expect(seen.at(-1)).toBe(400);
    expect(seen.length).toBeGreaterThan(2);
    expect(await h.redis.xlen(h.stream("deliver"))).toBe(400);
    expect(await store.count({ agent: "bob" })).toBe(0);

    expect(await store.purgeAll({ agent: "carol", olderThanMs: 0 })).toEqual({
      purged: 800,
      not_found: 0,
    });
    expect(await store.depth()).toBe(0);
    expect(await store.purge(["1-0"])).toEqual([{ id: "1-0", result: "not_found" }]);
  });
});

describe("replaying a dead letter of the real pipeline", () => {
  it("re-enters at the stage it died in and is delivered once", async () => {
    setUp(new Harness(fastPipeline({ defaults: { maxDeliveries: 2 } })));
    await h.agents("alice", "bob");
    let poison = "";
    // route crashes on every batch that holds the poisoned message, until it is fixed.
    const poisoned: StageFactory = (context) => {
      const real = STAGE_FACTORIES.route(context);
      return {
        handle(entries) {
          const hit = entries.some((e) => e.fields.get(Field.messageId)?.toString() === poison);
          return hit
            ? Promise.reject(new Error("route crashes on this entry"))
            : real.handle(entries);
        },
      };
    };
    await h.worker(["validate", "deliver", "persist"]);
    await h.worker(["route"], { route: poisoned });
    poison = await h.send({ from: "alice", to: ["bob"], body: "poison" });
    const mid = poison;
    const [dead] = await eventually(async () => {
      const page = await store.list({ stage: "route" });
      return page.dead_letters.length > 0 && page.dead_letters;
    });
    expect(dead).toMatchObject({ message_id: mid, stage: "route", code: "POISON" });
    expect(await h.inbox("bob")).toEqual([]);

    poison = ""; // fixed
    expect((await store.replay([dead!.id]))[0]?.result).toBe("replayed");
    await eventually(async () => (await h.inbox("bob")).length === 1);
    expect((await store.replay([dead!.id]))[0]?.result).toBe("already_replayed");
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await h.inbox("bob")).toEqual([mid]);
    expect(await store.depth()).toBe(0);
  });
});
