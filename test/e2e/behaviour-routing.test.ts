import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { eventually } from "../support/harness.js";
import {
  call,
  joinAs,
  useServe,
  type Agent,
  type McpClient,
  type Fetched,
} from "../support/mcp.js";

/**
 * Routing among three agents of three eras (a v2 session client, a stateless v2 client
 * presenting its token, a v1 client): named recipients, broadcast, capability any/all,
 * topics. Each test registers its own three agents and unregisters them afterwards, so
 * "everyone" means exactly these three.
 */
const fixture = useServe();

interface View {
  message: { status?: { status: string }; recipients: Record<string, { status: string }> };
}

let run = 0;
/** ann (v2 session), ben (v2 stateless, bearer), cat (v1 session). */
let ann: Agent;
let ben: Agent;
let cat: Agent;

beforeEach(async () => {
  run += 1;
  const { url } = fixture.serve;
  // Everyone can review; only ben does ops.
  ann = await joinAs(url, `ann-${run}`, "legacy", ["review"]);
  ben = await joinAs(url, `ben-${run}`, "modern", ["review", "ops@2.1"]);
  cat = await joinAs(url, `cat-${run}`, "v1", ["review"]);
  // Routing caches the directory and rechecks it at most every 250 ms
  // (src/stages/route/directory.ts): let it see this test's agents, not the last one's.
  await new Promise((resolve) => setTimeout(resolve, 300));
});

afterEach(async () => {
  for (const agent of [ann, ben, cat]) await call(agent.client, "unregister_agent");
});

async function send(from: Agent, args: Record<string, unknown>): Promise<string> {
  const sent = await call<{ message_id: string; status: string }>(from.client, "send_message", {
    body: "x",
    ...args,
  });
  expect(sent.status).toBe("accepted");
  return sent.message_id;
}

/**
 * Who the message went to, once every recipient has it in its inbox (as its sender sees
 * it with get_message): sorted names.
 */
async function deliveredTo(sender: Agent, messageId: string): Promise<string[]> {
  const recipients = await eventually(async () => {
    const { message } = await call<View>(sender.client, "get_message", { message_id: messageId });
    const states = Object.values(message.recipients);
    const arrived =
      message.status?.status === "routed" &&
      states.length > 0 &&
      states.every((s) => ["delivered", "read", "acked"].includes(s.status));
    return arrived ? message.recipients : undefined;
  }, 15_000);
  return Object.keys(recipients).sort();
}

/** Everything waiting in an inbox now (acknowledged as taken), by message id. */
async function drain(client: McpClient): Promise<string[]> {
  const { messages } = await call<Fetched>(client, "fetch_inbox", { limit: 100 });
  if (messages.length > 0) {
    await call(client, "ack_messages", { message_ids: messages.map((m) => m.message_id) });
  }
  return messages.map((m) => m.message_id);
}

const names = (...agents: Agent[]) => agents.map((a) => a.name).sort();

describe("routing among agents of every era", () => {
  it("delivers a message to two named agents, each exactly once", async () => {
    const id = await send(ann, { to: [ben.name, cat.name], body: { n: 1 } });
    expect(await deliveredTo(ann, id)).toEqual(names(ben, cat));
    for (const agent of [ben, cat]) {
      const { messages } = await call<Fetched>(agent.client, "fetch_inbox", { wait_seconds: 10 });
      expect(messages).toEqual([
        expect.objectContaining({
          message_id: id,
          from: ann.name,
          body: { n: 1 },
          redelivered: false,
        }),
      ]);
      await call(agent.client, "ack_messages", { message_ids: [id] });
      expect(await drain(agent.client)).toEqual([]);
    }
    expect(await drain(ann.client)).toEqual([]);
  });

  it("broadcasts to everyone but the sender; with a capability, to its holders only", async () => {
    const everyone = await send(ben, { broadcast: true });
    expect(await deliveredTo(ben, everyone)).toEqual(names(ann, cat));
    expect(await drain(ann.client)).toEqual([everyone]);
    expect(await drain(cat.client)).toEqual([everyone]);
    expect(await drain(ben.client)).toEqual([]);

    // Only ben does ops (`ops@2` matches his `ops@2.1`): ann and cat get nothing.
    const ops = await send(cat, { broadcast: true, capability: "ops@2" });
    expect(await deliveredTo(cat, ops)).toEqual([ben.name]);
    expect(await drain(ben.client)).toEqual([ops]);
    expect(await drain(ann.client)).toEqual([]);
    expect(await drain(cat.client)).toEqual([]);
  });

  it("hands each `any` message to exactly one capable agent, never the sender", async () => {
    const count = 6;
    const sent: string[] = [];
    for (let i = 0; i < count; i++) sent.push(await send(ann, { capability: "review", body: i }));
    const chosen = await Promise.all(sent.map((id) => deliveredTo(ann, id)));
    for (const recipients of chosen) {
      expect(recipients).toHaveLength(1);
      expect([ben.name, cat.name]).toContain(recipients[0]);
    }
    const got = { ben: await drain(ben.client), cat: await drain(cat.client) };
    expect([...got.ben, ...got.cat].sort()).toEqual([...sent].sort());
    expect(new Set([...got.ben, ...got.cat]).size).toBe(count);
    // Nobody acked in between, so the least busy alternates: both had a share.
    expect(got.ben.length).toBeGreaterThan(0);
    expect(got.cat.length).toBeGreaterThan(0);
    expect(await drain(ann.client)).toEqual([]);
  });

  it("hands an `all` message to every holder of the capability but the sender", async () => {
    const id = await send(cat, { capability: "review", mode: "all" });
    expect(await deliveredTo(cat, id)).toEqual(names(ann, ben));
    expect(await drain(ann.client)).toEqual([id]);
    expect(await drain(ben.client)).toEqual([id]);
    expect(await drain(cat.client)).toEqual([]);
  });

  it("delivers a topic to its subscribers until they unsubscribe", async () => {
    const topic = `news.run-${run}`;
    for (const agent of [ann, ben, cat]) {
      expect(await call(agent.client, "subscribe_topic", { topic })).toMatchObject({
        topic,
        subscribed: true,
        changed: true,
      });
    }
    expect(await call(cat.client, "subscribe_topic", { topic })).toMatchObject({ changed: false });

    const first = await send(ben, { topic, body: "first" });
    expect(await deliveredTo(ben, first)).toEqual(names(ann, cat));
    expect(await drain(ann.client)).toEqual([first]);
    expect(await drain(cat.client)).toEqual([first]);
    expect(await drain(ben.client)).toEqual([]);

    expect(await call(ann.client, "unsubscribe_topic", { topic })).toMatchObject({
      subscribed: false,
      changed: true,
    });
    expect(await call(ann.client, "unsubscribe_topic", { topic })).toMatchObject({
      changed: false,
    });
    const second = await send(ben, { topic, body: "second" });
    expect(await deliveredTo(ben, second)).toEqual([cat.name]);
    expect(await drain(cat.client)).toEqual([second]);
    expect(await drain(ann.client)).toEqual([]);
  });
});
