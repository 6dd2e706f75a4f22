import { afterEach, describe, expect, it } from "vitest";
import { formatReport } from "../../src/cli/commands/errors.js";
import { parsePipeline } from "../../src/config/pipeline.js";
import { DeadLetters } from "../../src/dlq/store.js";
import { readErrorReport } from "../../src/failures/report.js";
import { Committer } from "../../src/pipeline/commit.js";
import { formatDeadLetterId, parseDeadLetterId } from "../../src/protocol/dead-letter-id.js";
import { uuidv7 } from "../../src/protocol/ids.js";
import { ToolInputs } from "../../src/protocol/tools.js";
import type { Keys } from "../../src/redis/keys.js";
import { seedDeadLetters, seedErrors } from "../support/dlq.js";
import { fastPipeline, Harness } from "../support/harness.js";

/** Dead letters and the error history of a pipeline of three partitions. */

let h: Harness;
let store: DeadLetters;
afterEach(async () => h.close());

function setUp(pipeline = fastPipeline({ partitions: 3 })): void {
  h = new Harness(pipeline);
  store = new DeadLetters(h.redis, h.keys, h.pipeline);
}

const part = (p: number): Keys => h.keys.forPartition(p);
const deadStream = (p: number) => part(p).stream(h.pipeline.deadLetters.stream);
const stageStream = (p: number, stage: "deliver" | "persist") =>
  part(p).stream(h.pipeline.stages[stage].stream);

/** Dead-letters a delivery to `rcpt` in partition `p` the way the deliver stage does. */
async function deadLetter(p: number, mid: string, rcpt: string): Promise<void> {
  const committer = new Committer(h.redis, part(p), h.pipeline, h.pipeline.stages.deliver);
  const fields = new Map(
    Object.entries({ t: "rcpt", mid, rcpt, from: "alice" }).map(([k, v]) => [k, Buffer.from(v)]),
  );
  await committer.append(
    { id: `${Date.now()}-0`, fields },
    {
      kind: "dead_letter",
      error: { code: "WEBHOOK_TIMEOUT", message: "timed out" },
      deliveries: 3,
    },
  );
}

/** The message ids of a stream's entries, in order. */
async function mids(stream: string): Promise<string[]> {
  const entries = await h.redis.xrange(stream, "-", "+");
  return entries.map(([, f]) => f[f.indexOf("mid") + 1]!);
}

describe("dead letters over three partitions", () => {
  it("lists every partition newest first and pages across them, a tie once each", async () => {
    setUp();
    const now = Date.now();
    // Partitions 0 and 2 both hold entry `now-3000-0`: the lower partition is listed first.
    const seeded = [
      [0, [now - 5000, now - 3000]],
      [1, [now - 4000, now - 1000]],
      [2, [now - 3000, now - 2000]],
    ] as const;
    for (const [p, times] of seeded) {
      const letters = times.map((at) => ({ at, rcpt: p === 1 ? "bob" : "carol", mid: `m${p}` }));
      await seedDeadLetters(h.redis, deadStream(p), letters);
    }
    const all = [
      `p1:${now - 1000}-0`,
      `p2:${now - 2000}-0`,
      `p0:${now - 3000}-0`,
      `p2:${now - 3000}-0`,
      `p1:${now - 4000}-0`,
      `p0:${now - 5000}-0`,
    ];
    const ids = async (filter: object, limit = 20, after?: string) =>
      store.list(filter, { limit, after, now });
    expect((await ids({})).dead_letters.map((d) => d.id)).toEqual(all);
    for (const limit of [1, 2, 3, 4]) {
      const paged: string[] = [];
      let after: string | undefined;
      do {
        const page = await ids({}, limit, after);
        paged.push(...page.dead_letters.map((d) => d.id));
        after = page.next_cursor ?? undefined;
      } while (after !== undefined);
      expect(paged, `pages of ${limit}`).toEqual(all);
    }
    const carol = await ids({ agent: "carol" }, 2);
    expect(carol.dead_letters.map((d) => d.id)).toEqual([all[1], all[2]]);
    expect(
      (await ids({ agent: "carol" }, 2, carol.next_cursor!)).dead_letters.map((d) => d.id),
    ).toEqual([all[3], all[5]]);
    expect(await store.depth()).toBe(6);
    expect(await store.count({}, now)).toBe(6);
    expect(await store.count({ agent: "bob" }, now)).toBe(2);
    expect(await store.get(all[3]!)).toMatchObject({ id: all[3], message_id: "m2" });
    // A bare id means partition 0.
    expect(await store.get(`${now - 3000}-0`)).toMatchObject({ id: all[2], message_id: "m0" });
  });

  it("refuses ids of a bad form or naming a partition that does not exist, naming the field", async () => {
    setUp();
    const refused = (work: Promise<unknown>) =>
      work.then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(await refused(store.get("p3:1-0"))).toMatchObject({
      code: "INVALID_INPUT",
      field: "id",
      message: expect.stringMatching(/'p3:1-0' names partition 3, but partitions 0 to 2 exist/),
    });
    expect(await refused(store.list({}, { after: "p9:5-0" }))).toMatchObject({
      code: "INVALID_INPUT",
      field: "after",
    });
    for (const bad of ["p1:", "p1:x", "q1:1-0", "p01:1-0", "p-1:1-0", "p1:p1:1-0", "P1:1-0"]) {
      expect(await refused(store.replay([bad])), bad).toMatchObject({
        code: "INVALID_INPUT",
        field: "ids",
        message: expect.stringContaining(`'${bad}' is not a dead-letter id`),
      });
    }
    expect(await refused(store.purge(["p7:1-0"]))).toMatchObject({ field: "ids" });
    expect(parseDeadLetterId("p2:17-3")).toEqual({ partition: 2, entry: "17-3" });
    expect(parseDeadLetterId("17-3")).toEqual({ partition: 0, entry: "17-3" });
    expect(formatDeadLetterId({ partition: 2, entry: "17-3" }, 3)).toBe("p2:17-3");
    expect(formatDeadLetterId({ partition: 0, entry: "17-3" }, 1)).toBe("17-3");
    expect(ToolInputs.dlq_list.safeParse({ after: "p2:1-0" }).success).toBe(true);
    expect(ToolInputs.dlq_replay.safeParse({ ids: ["p2:1-0", "1-0"] }).success).toBe(true);
    expect(ToolInputs.dlq_purge.safeParse({ ids: ["p2:x"] }).success).toBe(false);
  });

  it("replays each dead letter into its own partition's stages, by id and by message id", async () => {
    setUp();
    const [m1, m2] = [uuidv7(), uuidv7()];
    await deadLetter(1, m1, "bob");
    await deadLetter(2, m2, "carol");
    await deadLetter(2, m2, "dave");
    const listed = (await store.list({})).dead_letters;
    expect(listed.map((d) => d.id.slice(0, 3)).sort()).toEqual(["p1:", "p2:", "p2:"]);
    const [byMessage] = await store.resolve([m2]);
    expect(byMessage!.dead_letters).toHaveLength(2);
    expect(byMessage!.dead_letters.every((id) => id.startsWith("p2:"))).toBe(true);

    const one = listed.find((d) => d.message_id === m1)!;
    expect(await store.replay([one.id])).toEqual([
      expect.objectContaining({ id: one.id, result: "replayed" }),
    ]);
    const results = await store.replay([m2]);
    expect(results.map((r) => [r.id, r.message_id, r.result])).toEqual(
      byMessage!.dead_letters.map((id) => [id, m2, "replayed"]),
    );
    expect((await store.replay([m2])).map((r) => r.result)).toEqual([
      "already_replayed",
      "already_replayed",
    ]);
    expect(await mids(stageStream(0, "deliver"))).toEqual([]);
    expect(await mids(stageStream(1, "deliver"))).toEqual([m1]);
    expect(await mids(stageStream(2, "deliver"))).toEqual([m2, m2]);
    // Persist hears of the replay in the same partition (after the dead-lettered statuses).
    expect((await mids(stageStream(2, "persist"))).length).toBe(4);
    expect(await store.depth()).toBe(0);
  });

  it("purges by id, by message id and by filter across partitions", async () => {
    setUp();
    const [m0, m1, m2] = [uuidv7(), uuidv7(), uuidv7()];
    await deadLetter(0, m0, "bob");
    await deadLetter(1, m1, "bob");
    await deadLetter(2, m2, "carol");
    await deadLetter(2, m2, "bob");
    const [m1Letter] = (await store.resolve([m1]))[0]!.dead_letters;
    expect(await store.purge([m1Letter!, "p1:1-0"])).toEqual([
      { id: m1Letter, result: "purged" },
      { id: "p1:1-0", result: "not_found" },
    ]);
    // The index by message id is kept true in the message's partition.
    expect((await store.resolve([m1]))[0]!.dead_letters).toEqual([]);
    expect(await store.purgeAll({ agent: "bob" })).toEqual({ purged: 2, not_found: 0 });
    expect((await store.list({})).dead_letters.map((d) => d.recipient)).toEqual(["carol"]);
    expect((await store.purge([m2])).map((r) => r.result)).toEqual(["purged"]);
    expect(await store.depth()).toBe(0);
  });

  it("replays everything a filter selects, each into its partition", async () => {
    setUp();
    const now = Date.now() - 10_000;
    for (const p of [0, 1, 2]) {
      const letters = [0, 1, 2, 3].map((i) => ({
        at: now + 10 * i + p,
        rcpt: i % 2 === 0 ? "bob" : "carol",
        mid: `m${p}-${i}`,
      }));
      await seedDeadLetters(h.redis, deadStream(p), letters);
    }
    const tally = await store.replayAll({ agent: "bob" });
    expect(tally).toEqual({ replayed: 6, already_replayed: 0, not_found: 0, unreplayable: 0 });
    for (const p of [0, 1, 2]) {
      expect((await mids(stageStream(p, "deliver"))).sort()).toEqual([`m${p}-0`, `m${p}-2`]);
    }
    expect(await store.count({ agent: "carol" })).toBe(6);
  });
});

describe("the error report over three partitions", () => {
  it("counts every partition's history and sums their dead letters", async () => {
    const pipeline = (maxLen: number) =>
      parsePipeline({ version: 1, partitions: 3, errors: { history: { maxLen } } }, "three");
    setUp(pipeline(10_000));
    const now = Date.now();
    const MINUTE = 60_000;
    const timeout = { code: "WEBHOOK_TIMEOUT", cat: "delivery", agent: "bob" };
    await seedErrors(h.redis, part(0).errors(), [{ at: now - 3 * 60 * MINUTE, ...timeout }]);
    await seedErrors(h.redis, part(1).errors(), [
      { at: now - 30 * MINUTE, code: "INBOX_FULL", cat: "quota", agent: "carol" },
      { at: now - 2 * MINUTE, ...timeout },
    ]);
    await seedErrors(h.redis, part(2).errors(), [{ at: now - MINUTE, ...timeout }]);
    await seedDeadLetters(h.redis, deadStream(0), [{ at: now - MINUTE, rcpt: "bob" }]);
    await seedDeadLetters(h.redis, deadStream(2), [{ at: now - MINUTE, rcpt: "bob" }]);

    const report = await readErrorReport(h.redis, h.keys, h.pipeline, { now });
    expect(report.windows.map((w) => w.total)).toEqual([2, 3, 4]);
    expect(report.by_code).toEqual([
      { name: "WEBHOOK_TIMEOUT", counts: { "5m": 2, "1h": 2, "24h": 3 } },
      { name: "INBOX_FULL", counts: { "5m": 0, "1h": 1, "24h": 1 } },
    ]);
    expect(report.dead_letters).toBe(2);
    expect(report.history).toMatchObject({
      partitions: 3,
      length: 4,
      oldest_at: new Date(now - 3 * 60 * MINUTE).toISOString(),
      complete_since: null,
    });
    expect(formatReport(report)).not.toContain("note:");

    // Partition 1's history is full at two: it reaches back 30 minutes only.
    const capped = await readErrorReport(h.redis, h.keys, pipeline(2), { now });
    expect(capped.history.complete_since).toBe(new Date(now - 30 * MINUTE).toISOString());
    expect(formatReport(capped)).toMatch(
      /\nnote: the history of each partition keeps the latest 2 errors \(errors.history.maxLen\), the oldest from 30m ago: counts over 24h are a floor$/,
    );
  });
});
