import { afterEach, describe, expect, it } from "vitest";
import { History } from "../../src/history/history.js";
import { readMessageRecord, readThreadIndex } from "../../src/history/record.js";
import { composeEnvelope } from "../../src/protocol/compose.js";
import { eventually, fastPipeline, Harness } from "../support/harness.js";

let h: Harness;
afterEach(async () => h.close());

async function settled(messageId: string, status?: string) {
  return eventually(async () => {
    const record = await readMessageRecord(h.redis, h.keys, messageId);
    if (record === undefined) return undefined;
    if (status !== undefined && record.status?.status !== status) return undefined;
    return record;
  });
}

describe("the four stages", () => {
  it("deliver a message once to each named recipient and record every status", async () => {
    h = new Harness();
    await h.agents("alice", "bob", "carol");
    await h.worker();
    const id = await h.send({
      from: "alice",
      to: ["bob", "carol", "bob"],
      body: { task: "review" },
      subject: "PR 7",
    });
    const record = await eventually(async () => {
      const r = await readMessageRecord(h.redis, h.keys, id);
      return (
        r?.recipients.bob?.status === "delivered" && r.recipients.carol?.status === "delivered" && r
      );
    });
    expect(await h.inbox("bob")).toEqual([id]);
    expect(await h.inbox("carol")).toEqual([id]);
    expect(record.status?.status).toBe("routed");
    expect(record.envelope).toMatchObject({
      id,
      from: "alice",
      subject: "PR 7",
      seq: 1,
      body: { task: "review" },
    });
    expect(record.recipients.bob?.inbox_id).toMatch(/^\d+-\d+$/);
  });

  it("number the messages of a thread in order and index them", async () => {
    h = new Harness();
    await h.agents("alice", "bob");
    await h.worker();
    const first = await h.send({ from: "alice", to: ["bob"], body: 1 });
    const ids = [first];
    for (let i = 0; i < 4; i++)
      ids.push(await h.send({ from: "bob", to: ["alice"], body: i, thread_id: first }));
    const index = await eventually(async () => {
      const thread = await new History(h.redis, h.keys, h.pipeline)
        .thread(null, first)
        .catch(() => []);
      return thread.length === 5 && thread;
    });
    expect(index.map((m) => m.message_id)).toEqual(ids);
    expect(index.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    // The first message is found by its id, which is the thread's: only replies are indexed.
    expect((await readThreadIndex(h.redis, h.keys, first)).map((e) => e.seq)).toEqual([2, 3, 4, 5]);
  });

  it("reject an invalid envelope and persist records the reason with the field", async () => {
    h = new Harness();
    await h.worker();
    const id = "01900000-0000-7000-8000-000000000001";
    const bad = JSON.stringify({
      ...composeEnvelope({ from: "alice", to: ["bob"], body: 1 }),
      id,
      to: { kind: "agents", agents: [] },
    });
    await h.redis.xadd(h.stream("validate"), "*", "t", "msg", "mid", id, "enc", "json", "env", bad);
    const record = await settled(id, "rejected");
    expect(record.status).toMatchObject({
      stage: "validate",
      error: { code: "INVALID_INPUT", field: "to.agents" },
    });
    expect(record.status?.error?.message).toMatch(/name at least one recipient/);
    expect(await h.inbox("bob")).toEqual([]);
  });

  it("reject a body over the limit and a message already expired", async () => {
    h = new Harness(fastPipeline({ limits: { maxBodyBytes: 100 } }));
    await h.worker();
    const big = await h.send({ from: "alice", to: ["bob"], body: "x".repeat(200) });
    expect((await settled(big, "rejected")).status?.error).toMatchObject({
      code: "TOO_LARGE",
      field: "body",
    });
    const envelope = composeEnvelope(
      { from: "alice", to: ["bob"], body: 1, ttl_seconds: 1 },
      Date.now() - 5000,
    );
    await h.ingress.accept(envelope);
    expect((await settled(envelope.id, "expired")).status?.error).toMatchObject({
      code: "EXPIRED",
      field: "expires_at",
    });
  });

  it("refuse a reused idempotency key for another message, within the sender only", async () => {
    h = new Harness();
    await h.agents("alice", "bob", "carol");
    await h.worker();
    const first = await h.send({ from: "alice", to: ["bob"], body: 1, idempotency_key: "job-42" });
    await settled(first, "routed");
    const again = await h.send({ from: "alice", to: ["bob"], body: 2, idempotency_key: "job-42" });
    const other = await h.send({ from: "carol", to: ["bob"], body: 3, idempotency_key: "job-42" });
    const refused = await settled(again, "rejected");
    expect(refused.status?.error).toMatchObject({
      code: "DUPLICATE_IDEMPOTENCY_KEY",
      field: "idempotency_key",
    });
    expect(refused.status?.error?.message).toContain(first);
    await settled(other, "routed");
    await eventually(async () => (await h.inbox("bob")).length === 2);
    expect(await h.inbox("bob")).toEqual([first, other]);
  });

  it("expire a message at deliver when its time ran out on the way", async () => {
    h = new Harness();
    await h.agents("alice", "bob");
    await h.worker(["validate", "route", "persist"]);
    const envelope = composeEnvelope({ from: "alice", to: ["bob"], body: 1, ttl_seconds: 1 });
    await h.ingress.accept(envelope);
    await settled(envelope.id, "routed");
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await h.worker(["deliver"]);
    const record = await eventually(async () => {
      const r = await readMessageRecord(h.redis, h.keys, envelope.id);
      return r?.recipients.bob?.status === "expired" && r;
    });
    expect(record.recipients.bob).toMatchObject({ stage: "deliver", error: { code: "EXPIRED" } });
    expect(await h.inbox("bob")).toEqual([]);
  });
});
