import { afterEach, describe, expect, it } from "vitest";
import { eventually, fastPipeline } from "../support/harness.js";
import { ServiceHarness } from "../support/service.js";

let h: ServiceHarness;
afterEach(async () => h.close());

/** Waits until `agents` have between them `count` messages, and returns who got what. */
async function received(agents: string[], count: number): Promise<Record<string, unknown[]>> {
  const got: Record<string, unknown[]> = Object.fromEntries(agents.map((a) => [a, []]));
  await eventually(async () => {
    for (const agent of agents) got[agent]!.push(...(await h.fetch(agent)).map((m) => m.body));
    return Object.values(got).flat().length >= count;
  });
  await new Promise((resolve) => setTimeout(resolve, 150)); // anything more would show up now
  for (const agent of agents) got[agent]!.push(...(await h.fetch(agent)).map((m) => m.body));
  return got;
}

describe("routing", () => {
  it("broadcasts to every agent but the sender, optionally only those with a capability", async () => {
    h = new ServiceHarness();
    await h.register("alice", "bob:testing", "carol:code-review");
    await h.worker();
    await h.sendAs("alice", { broadcast: true, body: "all" });
    expect(await received(["alice", "bob", "carol"], 2)).toEqual({
      alice: [],
      bob: ["all"],
      carol: ["all"],
    });
    await h.sendAs("alice", { broadcast: true, capability: "testing", body: "testers" });
    expect(await received(["alice", "bob", "carol"], 1)).toEqual({
      alice: [],
      bob: ["testers"],
      carol: [],
    });
  });

  it("sends a capability `any` message to exactly one agent, the least busy, never the sender", async () => {
    h = new ServiceHarness();
    await h.register("alice:review", "bob:review", "carol:review@2.1", "dave:testing");
    await h.worker();
    await h.sendAs("dave", { to: ["bob"], body: "keeps bob busy" });
    await eventually(async () => (await h.service.digest("bob")).unread === 1);
    const sent = [];
    for (let i = 0; i < 4; i++)
      sent.push(await h.sendAs("alice", { capability: "review", body: i }));
    const got = await received(["alice", "bob", "carol"], 4 + 1);
    expect(got.alice).toEqual([]);
    expect(Object.values(got).flat().sort()).toEqual([0, 1, 2, 3, "keeps bob busy"]);
    expect(got.carol!.length).toBeGreaterThanOrEqual(2); // bob started one message behind
  });

  it("matches capability versions by dotted prefix, and `all` reaches every holder", async () => {
    h = new ServiceHarness();
    await h.register("alice", "py3:python@3.12", "py31:python@31", "any:python");
    await h.worker();
    await h.sendAs("alice", { capability: "python@3", mode: "all", body: "v3" });
    expect(await received(["py3", "py31", "any"], 1)).toEqual({ py3: ["v3"], py31: [], any: [] });
    await h.sendAs("alice", { capability: "python", mode: "all", body: "all" });
    expect(await received(["py3", "py31", "any"], 3)).toEqual({
      py3: ["all"],
      py31: ["all"],
      any: ["all"],
    });
  });

  it("delivers topic messages to subscribers only, until they unsubscribe", async () => {
    h = new ServiceHarness();
    await h.register("alice", "bob", "carol");
    await h.worker();
    await h.service.subscribe("bob", "builds.main");
    await h.service.subscribe("alice", "builds.main");
    await h.sendAs("alice", { topic: "builds.main", body: "green" });
    expect(await received(["alice", "bob", "carol"], 1)).toEqual({
      alice: [],
      bob: ["green"],
      carol: [],
    });
    await h.service.unsubscribe("bob", "builds.main");
    const nobody = await h.sendAs("alice", { topic: "builds.main", body: "red" });
    const record = await eventually(async () => {
      const view = await h.service.getMessage("alice", nobody.message_id);
      return view.status?.status === "undeliverable" && view;
    });
    expect(record.status?.error?.message).toMatch(
      /no other agent subscribes to topic 'builds.main'/,
    );
  });

  it("applies routing rules from the pipeline file: alerts also reach ops", async () => {
    h = new ServiceHarness(
      fastPipeline({
        routing: { rules: [{ match: { type: "alert.*" }, also: { capability: "ops" } }] },
      }),
    );
    await h.register("alice", "bob", "oncall:ops");
    await h.worker();
    await h.sendAs("alice", { to: ["bob"], type: "alert.disk", body: "disk full" });
    await h.sendAs("alice", { to: ["bob"], type: "chat", body: "hi" });
    expect(await received(["bob", "oncall"], 3)).toEqual({
      bob: ["disk full", "hi"],
      oncall: ["disk full"],
    });
  });

  it("marks a message nobody can receive undeliverable and tells the sender why", async () => {
    h = new ServiceHarness();
    await h.register("alice", "bob");
    await h.worker();
    const sent = await h.sendAs("alice", { capability: "astrology", body: "?" });
    const [notice] = await eventually(async () => {
      const messages = await h.fetch("alice");
      return messages.length > 0 && messages;
    });
    expect(notice).toMatchObject({
      from: "switchboard",
      type: "switchboard.notice",
      reply_to: sent.message_id,
      thread_id: sent.thread_id,
      body: {
        message_id: sent.message_id,
        status: "undeliverable",
        error: { code: "NO_RECIPIENT" },
      },
    });
    const view = await h.service.getMessage("alice", sent.message_id);
    expect(view.status?.status).toBe("undeliverable");
  });
});
