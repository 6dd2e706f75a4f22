import { afterEach, describe, expect, it } from "vitest";
import { parseConsumers } from "../../src/redis/info.js";
import { Field } from "../../src/streams/entry.js";
import type { StageFactory } from "../../src/pipeline/stage.js";
import { readMessageRecord } from "../../src/history/record.js";
import { deliverStage } from "../../src/stages/deliver/deliver.js";
import { STAGE_FACTORIES } from "../../src/stages/index.js";
import { eventually, fastPipeline, Harness } from "../support/harness.js";

let h: Harness;
afterEach(async () => h.close());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("the stage runner", () => {
  it("takes over what a dead consumer read and never acknowledged", async () => {
    h = new Harness();
    await h.agents("alice", "bob");
    const ids = [];
    for (let i = 0; i < 20; i++) ids.push(await h.send({ from: "alice", to: ["bob"], body: i }));
    // A consumer reads everything, then dies without acknowledging.
    expect(await h.readAndDie("validate", 100)).toHaveLength(20);
    await h.worker();
    await eventually(async () => (await h.inbox("bob")).length === 20);
    expect(await h.inbox("bob")).toEqual(ids);
    // The ghost holds nothing now, and is removed once it has been idle long enough.
    await eventually(async () => {
      const consumers = parseConsumers(
        await h.redis.xinfo("CONSUMERS", h.stream("validate"), "validate"),
      );
      return !consumers.some((c) => c.name === "ghost");
    });
  });

  it("puts a message in an inbox once when a consumer dies after writing and before acknowledging", async () => {
    h = new Harness();
    await h.agents("alice", "bob", "carol");
    let crashes = 0;
    // Does the real work, then "dies" before the commit, the first time only.
    const crashingDeliver: StageFactory = (context) => {
      const real = deliverStage(context);
      return {
        async handle(entries) {
          const outcomes = await real.handle(entries);
          if (crashes++ === 0) throw new Error("worker died before acknowledging");
          return outcomes;
        },
      };
    };
    await h.worker(["validate", "route", "persist"]);
    await h.worker(["deliver"], { deliver: crashingDeliver });
    const id = await h.send({ from: "alice", to: ["bob", "carol"], body: "once" });
    await eventually(async () => {
      const record = await readMessageRecord(h.redis, h.keys, id);
      return (
        record?.recipients.bob?.status === "delivered" &&
        record.recipients.carol?.status === "delivered"
      );
    });
    expect(crashes).toBeGreaterThanOrEqual(2);
    expect(await h.inbox("bob")).toEqual([id]);
    expect(await h.inbox("carol")).toEqual([id]);
  });

  it("dead-letters an entry handed out more than maxDeliveries times, and persist records it", async () => {
    h = new Harness(fastPipeline({ defaults: { maxDeliveries: 2 } }));
    await h.agents("alice", "bob");
    let attempts = 0;
    let poison = "";
    // Crashes on every batch that holds the poisoned message; other messages pass.
    const poisoned: StageFactory = (context) => {
      const real = STAGE_FACTORIES.route(context);
      return {
        handle(entries) {
          if (!entries.some((e) => e.fields.get(Field.messageId)?.toString() === poison))
            return real.handle(entries);
          attempts += 1;
          return Promise.reject(new Error("route handler crashes on this entry"));
        },
      };
    };
    await h.worker(["validate", "deliver", "persist"]);
    await h.worker(["route"], { route: poisoned });
    poison = await h.send({ from: "alice", to: ["bob"], body: "poison" });
    const id = poison;
    const record = await eventually(async () => {
      const r = await readMessageRecord(h.redis, h.keys, id);
      return r?.status?.status === "dead_lettered" && r;
    });
    expect(record.status).toMatchObject({ stage: "route", error: { code: "POISON" } });
    const [[deadId, fields]] = (await h.redis.xrange(h.stream("dead"), "-", "+")) as [
      [string, string[]],
    ];
    const dead = Object.fromEntries(
      fields.flatMap((v, i) => (i % 2 === 0 ? [[v, fields[i + 1]]] : [])),
    );
    expect(deadId).toBeDefined();
    expect(dead).toMatchObject({ mid: id, stage: "route", "o.t": "msg", "o.mid": id });
    // Handed out more than maxDeliveries (2) times; every delivery but the last was tried.
    expect(Number(dead.n)).toBeGreaterThan(2);
    expect(attempts).toBe(Number(dead.n) - 1);
    expect(JSON.parse(dead.why!)).toMatchObject({ code: "POISON" });
    // It left the pending list (other entries, such as the notice to alice, may be in flight).
    const pending = (await h.redis.xpending(h.stream("route"), "route", "-", "+", 100)) as [
      string,
    ][];
    expect(pending.map(([entryId]) => entryId)).not.toContain(dead.src);
  });

  it("loses nothing and duplicates nothing when stopped gracefully under load", async () => {
    h = new Harness(fastPipeline({ inbox: { quota: 10_000 } }));
    await h.agents("alice", "bob");
    const first = await h.worker();
    const sent: string[] = [];
    const sending = (async () => {
      for (let batch = 0; batch < 20; batch++) {
        const ids = [];
        for (let i = 0; i < 100; i++)
          ids.push(await h.send({ from: "alice", to: ["bob"], body: { batch, i } }));
        sent.push(...ids);
      }
    })();
    await eventually(async () => (await h.inbox("bob")).length > 200);
    await first.stop();
    // Everything this worker read was committed before it stopped: nothing is left pending.
    for (const stage of ["validate", "route", "deliver", "persist"] as const) {
      const [count] = (await h.redis.xpending(h.stream(stage), stage)) as [number];
      expect(count, `pending in ${stage}`).toBe(0);
    }
    const stoppedAt = (await h.inbox("bob")).length;
    await sending;
    await h.worker();
    await eventually(async () => (await h.inbox("bob")).length >= 2000, 20_000);
    await sleep(300);
    const inbox = await h.inbox("bob");
    expect(stoppedAt).toBeLessThan(2000);
    expect(inbox).toHaveLength(2000);
    expect(new Set(inbox)).toEqual(new Set(sent));
  });

  it("never trims an entry that a group has not acknowledged", async () => {
    h = new Harness(fastPipeline({ defaults: { retention: { maxAgeMs: 1 } } }));
    const stream = h.stream("validate");
    const add = async (n: number) => {
      const batch = h.redis.pipeline();
      for (let i = 0; i < n; i++) batch.xadd(stream, "*", Field.kind, "noise");
      const replies = (await batch.exec()) ?? [];
      return replies.map(([, id]) => String(id));
    };
    await add(300);
    await h.redis.xack(stream, "validate", ...(await h.readAndDie("validate", 300, "reader")));
    const pendingIds = await add(5);
    await h.readAndDie("validate", 5);
    const unread = await add(300);
    await sleep(5);
    const janitor = h.janitor("validate");

    await janitor.trim();
    const kept = (await h.redis.xrange(stream, "-", "+")).map(([id]) => id);
    expect(kept.slice(-305)).toEqual([...pendingIds, ...unread]);
    expect(kept.length).toBeLessThan(400); // most acknowledged entries went (trimming is by whole nodes)

    // A second group that has read nothing yet holds everything that is left.
    await h.redis.xgroup("CREATE", stream, "audit", "0");
    await h.redis.xack(stream, "validate", ...pendingIds);
    await janitor.trim();
    expect(await h.redis.xlen(stream)).toBe(kept.length);
  });
});
