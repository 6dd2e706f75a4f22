import { afterEach, describe, expect, it } from "vitest";
import { composeEnvelope } from "../../src/protocol/compose.js";
import { eventually, fastPipeline } from "../support/harness.js";
import { ServiceHarness } from "../support/service.js";

let h: ServiceHarness;
afterEach(async () => h.close());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("inboxes", () => {
  it("wake a long-poll when mail arrives, well before its wait runs out", async () => {
    h = new ServiceHarness();
    await h.register("alice", "bob");
    await h.worker();
    const started = Date.now();
    const waiting = h.service.fetch("bob", { limit: 10, wait_seconds: 20 });
    await sleep(300);
    await h.sendAs("alice", { to: ["bob"], body: "wake up" });
    const messages = await waiting;
    expect(messages.map((m) => m.body)).toEqual(["wake up"]);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("hand out unacknowledged mail again after the visibility timeout, and ack idempotently", async () => {
    h = new ServiceHarness(fastPipeline({ inbox: { visibilityTimeoutMs: 400 } }));
    await h.register("alice", "bob");
    await h.worker();
    const { message_id } = await h.sendAs("alice", { to: ["bob"], body: "handle me" });
    const [first] = await eventually(
      async () => (await h.fetch("bob")).length > 0 && h.fetch("bob"),
    );
    expect(first).toBeUndefined(); // the second fetch came before the timeout: nothing to hand out
    await sleep(450);
    const [again] = await h.fetch("bob");
    expect(again).toMatchObject({ message_id, redelivered: true });
    expect(await h.service.ack("bob", [message_id, message_id])).toEqual({
      acked: [message_id],
      already_acked: [],
      unknown: [],
    });
    expect(await h.service.ack("bob", [message_id])).toMatchObject({
      acked: [],
      already_acked: [message_id],
    });
    await sleep(450);
    expect(await h.fetch("bob")).toEqual([]);
    expect(await h.service.digest("bob")).toEqual({ unread: 0, oldest_waiting_seconds: null });
    const view = await eventually(async () => {
      const v = await h.service.getMessage("alice", message_id);
      return v.recipients.bob?.status === "acked" && v;
    });
    expect(view.recipients.bob?.history.map((s) => s.status)).toEqual([
      "queued",
      "delivered",
      "read",
      "acked",
    ]);
  });

  it("never hand out an expired message, and tell its sender", async () => {
    h = new ServiceHarness();
    await h.register("alice", "bob");
    await h.worker();
    const { message_id } = await h.sendAs("alice", {
      to: ["bob"],
      body: "soon stale",
      ttl_seconds: 1,
    });
    await eventually(async () => (await h.service.digest("bob")).unread === 1);
    await sleep(1100);
    expect(await h.fetch("bob")).toEqual([]);
    const [notice] = await eventually(async () => {
      const mail = await h.fetch("alice");
      return mail.length > 0 && mail;
    });
    expect(notice?.body).toMatchObject({
      message_id,
      status: "expired",
      recipient: "bob",
      error: { code: "EXPIRED" },
    });
    expect(await h.service.digest("bob")).toMatchObject({ unread: 0 });
  });

  it("refuse mail over the quota without losing it silently: the sender is told", async () => {
    h = new ServiceHarness(fastPipeline({ inbox: { quota: 2 } }));
    await h.register("alice", "bob");
    await h.worker();
    const sent = [];
    for (let i = 0; i < 3; i++)
      sent.push((await h.sendAs("alice", { to: ["bob"], body: i })).message_id);
    const [notice] = await eventually(async () => {
      const mail = await h.fetch("alice");
      return mail.length > 0 && mail;
    });
    expect(notice?.body).toMatchObject({
      message_id: sent[2],
      status: "undeliverable",
      error: { code: "INBOX_FULL" },
    });
    expect((notice?.body as { error: { message: string } }).error.message).toMatch(
      /inbox of agent 'bob' is full \(2 unacknowledged/,
    );
    const digest = await h.service.digest("bob");
    expect(digest.unread).toBe(2);
  });

  it("show what waits, fetched or not, without handing anything out", async () => {
    h = new ServiceHarness();
    await h.register("alice", "bob");
    await h.worker();
    const sent = [];
    for (let i = 0; i < 3; i++)
      sent.push((await h.sendAs("alice", { to: ["bob"], body: i })).message_id);
    await eventually(async () => (await h.service.digest("bob")).unread === 3);
    const [first] = await h.fetch("bob", 1);
    expect((await h.service.waitingMail("bob", 10)).map((m) => m.message_id)).toEqual(sent);
    await h.service.ack("bob", [first!.message_id]);
    expect((await h.service.waitingMail("bob", 10)).map((m) => m.body)).toEqual([1, 2]);
    expect((await h.fetch("bob")).map((m) => m.body)).toEqual([1, 2]); // still there to fetch
  });

  it("carry a digest: unread count and the age of the oldest waiting message", async () => {
    h = new ServiceHarness();
    await h.register("alice", "bob");
    await h.worker();
    expect(await h.service.digest("bob")).toEqual({ unread: 0, oldest_waiting_seconds: null });
    await h.sendAs("alice", { to: ["bob"], body: 1 });
    await h.sendAs("alice", { to: ["bob"], body: 2 });
    const digest = await eventually(async () => {
      const d = await h.service.digest("bob");
      return d.unread === 2 && d;
    });
    expect(digest.oldest_waiting_seconds).toBeGreaterThanOrEqual(0);
    await h.fetch("bob", 1);
    expect((await h.service.digest("bob")).unread).toBe(2); // fetched is not acknowledged
  });
});

describe("threads, replay and request/reply", () => {
  it("keep a thread in order, and replay an inbox from a cursor, page by page, idempotently", async () => {
    h = new ServiceHarness();
    await h.register("alice", "bob");
    await h.worker();
    const first = await h.threadOfThree();
    await expect(h.service.getThread("carol", first.thread_id)).rejects.toMatchObject({
      code: "NOT_FOUND",
    });

    const page1 = await h.service.replay("bob", { after: "0", limit: 1 });
    expect(page1.messages.map((m) => m.body)).toEqual(["step 0"]);
    const page2 = await h.service.replay("bob", { after: page1.next_cursor!, limit: 1 });
    expect(page2.messages.map((m) => m.body)).toEqual(["step 1"]);
    expect(await h.service.replay("bob", { after: page1.next_cursor!, limit: 1 })).toEqual(page2);
  });

  it("return the reply to a request that awaits it, or say that it timed out", async () => {
    h = new ServiceHarness();
    await h.register("alice", "bob");
    await h.worker();
    const answering = (async () => {
      const [request] = await h.service.fetch("bob", { limit: 1, wait_seconds: 10 });
      await h.sendAs("bob", { to: ["alice"], reply_to: request!.message_id, body: "42" });
    })();
    const result = await h.sendAs("alice", {
      to: ["bob"],
      body: "6 × 7?",
      await_reply_seconds: 10,
    });
    await answering;
    expect(result.reply).toMatchObject({ from: "bob", body: "42", reply_to: result.message_id });
    expect(await h.fetch("alice")).toEqual([]); // the reply was handed over and acknowledged
    const silent = await h.sendAs("alice", {
      to: ["bob"],
      body: "anyone?",
      await_reply_seconds: 1,
    });
    expect(silent).toMatchObject({ reply: null, reply_timed_out: true });
  });
});

describe("send_message guards", () => {
  it("refuse an unknown agent and a reused idempotency key with another body, naming the field", async () => {
    h = new ServiceHarness();
    await h.register("alice", "bob");
    await h.worker();
    await expect(h.sendAs("alice", { to: ["bob", "nobody"], body: 1 })).rejects.toMatchObject({
      code: "NOT_FOUND",
      field: "to",
    });
    const first = await h.sendAs("alice", { to: ["bob"], body: "x", idempotency_key: "k1" });
    await eventually(
      async () =>
        (await h.service.getMessage("alice", first.message_id)).status?.status === "routed",
    );
    expect(
      await h.sendAs("alice", { to: ["bob"], body: "x", idempotency_key: "k1" }),
    ).toMatchObject({
      message_id: first.message_id,
      status: "duplicate",
    });
    await expect(
      h.sendAs("alice", { to: ["bob"], body: "y", idempotency_key: "k1" }),
    ).rejects.toMatchObject({
      code: "DUPLICATE_IDEMPOTENCY_KEY",
      field: "idempotency_key",
    });
  });

  it("shows a message to its sender at once, and to nobody else but its recipients", async () => {
    h = new ServiceHarness();
    await h.register("alice", "bob", "carol");
    const { message_id } = await h.sendAs("alice", { to: ["bob"], body: "secret" });
    expect((await h.service.getMessage("alice", message_id)).status?.status).toBe("accepted");
    await expect(h.service.getMessage("carol", message_id)).rejects.toMatchObject({
      code: "NOT_FOUND",
      field: "message_id",
    });
    const envelope = composeEnvelope({ from: "alice", to: ["bob"], body: 1 });
    await expect(h.service.getMessage("alice", envelope.id)).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
  });
});

describe("agents", () => {
  it("go idle then offline when silent, come back online on contact, and subscribers hear of it", async () => {
    h = new ServiceHarness(fastPipeline({ agents: { idleAfterMs: 200, offlineAfterMs: 400 } }));
    await h.register("watcher", "bob");
    await h.worker();
    await h.service.subscribe("watcher", "switchboard.agents");
    await sleep(250);
    await h.service.touch("watcher");
    await h.service.sweep();
    expect((await h.service.agent("bob")).status).toBe("idle");
    await sleep(200);
    await h.service.touch("watcher");
    await h.service.sweep();
    expect((await h.service.agent("bob")).status).toBe("offline");
    await h.service.touch("bob");
    expect((await h.service.agent("bob")).status).toBe("online");
    const events: Awaited<ReturnType<typeof h.fetch>> = [];
    await eventually(async () => {
      events.push(...(await h.fetch("watcher")));
      return events.length >= 3;
    });
    expect(events.map((m) => m.subject)).toEqual([
      "bob is idle",
      "bob is offline",
      "bob is online",
    ]);
    expect(events[0]).toMatchObject({ from: "switchboard", type: "switchboard.agent_status" });
  });

  it("let a name be claimed once; its token re-registers it; a wrong one is refused", async () => {
    h = new ServiceHarness();
    const first = await h.service.register({ name: "bob", capabilities: ["testing"] });
    expect(first.created).toBe(true);
    await expect(h.service.register({ name: "bob" })).rejects.toMatchObject({
      code: "NAME_TAKEN",
      field: "name",
    });
    await expect(h.service.register({ name: "bob" }, "sbt_wrong")).rejects.toMatchObject({
      code: "UNAUTHENTICATED",
      message: expect.stringMatching(
        /^the presented token is 9 characters long where a token has 36/,
      ),
    });
    const again = await h.service.register({ name: "bob", capabilities: ["review"] }, first.token);
    expect(again).toMatchObject({
      created: false,
      token: first.token,
      agent: { capabilities: ["review"] },
    });
    expect(await h.service.authenticate(first.token)).toBe("bob");
    expect((await h.registry.list({ capability: "testing" })).map((a) => a.name)).toEqual([]);
    await h.service.unregister("bob");
    await expect(h.service.authenticate(first.token)).rejects.toMatchObject({
      code: "UNAUTHENTICATED",
    });
  });
});
