import { afterEach, describe, expect, it } from "vitest";
import { TrippedLoops } from "../../src/loops/tripped.js";
import { SwitchboardError } from "../../src/protocol/errors.js";
import { eventually, fastPipeline } from "../support/harness.js";
import { ServiceHarness } from "../support/service.js";

/**
 * The loop and storm breaker through the service, against a real Redis: what each budget
 * counts, what a trip refuses and for how long, and what lifting it does. The MCP side
 * (notices, alerts, tools, CLI) is in test/e2e/loops.test.ts.
 */
let h: ServiceHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** The LOOP_DETECTED error of a send, or "sent". */
async function outcome(send: Promise<unknown>): Promise<SwitchboardError | "sent"> {
  try {
    await send;
    return "sent";
  } catch (error) {
    expect(error).toBeInstanceOf(SwitchboardError);
    expect((error as SwitchboardError).code, (error as Error).message).toBe("LOOP_DETECTED");
    return error as SwitchboardError;
  }
}

function withLoops(budgets: Record<string, unknown>) {
  return new ServiceHarness(fastPipeline({ loops: budgets }));
}

describe("the loop breaker", () => {
  it("stops a ping-pong at the pair budget, either way, in any thread, and holds it", async () => {
    h = withLoops({ pair: { messages: 4, windowSeconds: 60, holdSeconds: 120 } });
    await h.register("alice", "bob", "carol");
    const first = await h.sendAs("alice", { to: ["bob"], body: 0 });
    for (let i = 1; i < 4; i++) {
      const from = i % 2 === 0 ? "alice" : "bob";
      const to = from === "alice" ? "bob" : "alice";
      // The third message starts a thread of its own: a pair is counted across threads.
      const thread = i === 3 ? {} : { thread_id: first.thread_id };
      expect(await outcome(h.sendAs(from, { to: [to], body: i, ...thread }))).toBe("sent");
    }
    const refused = await outcome(h.sendAs("bob", { to: ["alice"], body: 4 }));
    expect(refused).not.toBe("sent");
    const error = refused as SwitchboardError;
    expect(error.message).toMatch(
      /^messages between 'alice' and 'bob' went over the loop budget `loops.pair` \(4 messages in 60 s\), a reply loop: messages between them are refused until \d{4}-\d\d-\d\dT[\d:.]+Z \(retry after 120 s, retry_after_seconds\)/,
    );
    expect(error.field).toBe("to");
    expect(error.retryable).toBe(true);
    expect(error.data).toMatchObject({
      rule: "pair",
      breaker: "pair:alice,bob",
      messages: 4,
      window_seconds: 60,
      retry_after_seconds: 120,
    });
    expect(Date.parse(String(error.data?.resets_at)) - Date.now()).toBeGreaterThan(100_000);
    // Held: both directions are refused; others talk on.
    expect(await outcome(h.sendAs("alice", { to: ["bob"], body: 5 }))).not.toBe("sent");
    expect(await outcome(h.sendAs("alice", { to: ["carol"], body: 6 }))).toBe("sent");
    expect(await outcome(h.sendAs("carol", { to: ["bob"], body: 7 }))).toBe("sent");
    // A message to several agents is refused whole when one pair is held.
    expect(await outcome(h.sendAs("alice", { to: ["carol", "bob"], body: 8 }))).not.toBe("sent");
    const tripped = await new TrippedLoops(h.redis, h.keys).list();
    expect(tripped).toEqual([
      expect.objectContaining({
        breaker: "pair:alice,bob",
        rule: "pair",
        agents: ["alice", "bob"],
        messages: 4,
        window_seconds: 60,
      }),
    ]);
  });

  it("lets a normal 20-message conversation through with the default budgets", async () => {
    h = new ServiceHarness(fastPipeline());
    await h.register("alice", "bob");
    const first = await h.sendAs("alice", { to: ["bob"], body: "hello" });
    for (let i = 1; i < 20; i++) {
      const from = i % 2 === 0 ? "alice" : "bob";
      const to = from === "alice" ? "bob" : "alice";
      expect(await outcome(h.sendAs(from, { to: [to], thread_id: first.thread_id, body: i }))).toBe(
        "sent",
      );
    }
    expect(await new TrippedLoops(h.redis, h.keys).list()).toEqual([]);
  });

  it("stops a thread that grows past its budget, whoever writes in it", async () => {
    h = withLoops({ thread: { messages: 5, windowSeconds: 300 } });
    await h.register("a1", "a2", "a3", "a4");
    const first = await h.sendAs("a1", { to: ["a2"], body: 0 });
    const senders = ["a2", "a3", "a4", "a1"];
    for (const [i, from] of senders.entries()) {
      const to = from === "a1" ? "a3" : "a1";
      expect(await outcome(h.sendAs(from, { to: [to], thread_id: first.thread_id, body: i }))).toBe(
        "sent",
      );
    }
    const refused = await outcome(
      h.sendAs("a2", { to: ["a4"], thread_id: first.thread_id, body: "more" }),
    );
    expect((refused as SwitchboardError).message).toMatch(
      new RegExp(
        `^thread '${first.thread_id}' went over the loop budget \`loops.thread\` \\(5 messages in 300 s\\)`,
      ),
    );
    expect((refused as SwitchboardError).field).toBe("thread_id");
    // Another thread between the same agents is another budget.
    expect(await outcome(h.sendAs("a2", { to: ["a4"], body: "elsewhere" }))).toBe("sent");
    const [tripped] = await new TrippedLoops(h.redis, h.keys).list();
    expect(tripped?.breaker).toBe(`thread:${first.thread_id}`);
    expect(tripped?.agents.sort()).toEqual(["a1", "a2", "a3", "a4"]);
  });

  it("takes a refused message back out of the budgets that counted it", async () => {
    h = withLoops({
      pair: { messages: 2, windowSeconds: 60 },
      thread: { messages: 4, windowSeconds: 60 },
    });
    await h.register("alice", "bob", "carol");
    const first = await h.sendAs("alice", { to: ["bob"], body: 0 });
    const inThread = { thread_id: first.thread_id };
    await h.sendAs("bob", { to: ["alice"], body: 1, ...inThread });
    // alice and bob are held now; their refused attempts do not fill the thread.
    for (let i = 0; i < 5; i++) {
      expect(await outcome(h.sendAs("alice", { to: ["bob"], body: i, ...inThread }))).not.toBe(
        "sent",
      );
    }
    expect(await outcome(h.sendAs("carol", { to: ["alice"], body: "c1", ...inThread }))).toBe(
      "sent",
    );
    expect(await outcome(h.sendAs("carol", { to: ["bob"], body: "c2", ...inThread }))).toBe("sent");
  });

  it("stops a broadcast storm in a thread, leaving direct answers alone", async () => {
    h = withLoops({ broadcast: { messages: 3, windowSeconds: 60 } });
    await h.register("a1", "a2", "a3", "a4", "ops:ops");
    await h.service.subscribe("a4", "team.news");
    const first = await h.sendAs("a1", { broadcast: true, body: "release at noon" });
    const inThread = { thread_id: first.thread_id };
    // Answered to everyone: by broadcast, on a topic, to every agent of a capability.
    expect(await outcome(h.sendAs("a2", { broadcast: true, body: "ok", ...inThread }))).toBe(
      "sent",
    );
    expect(await outcome(h.sendAs("a3", { topic: "team.news", body: "ok", ...inThread }))).toBe(
      "sent",
    );
    const refused = await outcome(
      h.sendAs("a4", { capability: "ops", mode: "all", body: "ok", ...inThread }),
    );
    expect((refused as SwitchboardError).message).toMatch(
      /went over the storm budget `loops.broadcast` \(3 messages in 60 s to everyone, a topic or all of a capability\), a broadcast answered to everyone: such messages in it are refused \(answer the sender alone, with `to`\)/,
    );
    expect(await outcome(h.sendAs("a2", { broadcast: true, body: "ok?", ...inThread }))).not.toBe(
      "sent",
    );
    expect(await outcome(h.sendAs("a2", { to: ["a1"], body: "ok", ...inThread }))).toBe("sent");
    // A broadcast elsewhere is another thread's.
    expect(await outcome(h.sendAs("a2", { broadcast: true, body: "lunch?" }))).toBe("sent");
    const [tripped] = await new TrippedLoops(h.redis, h.keys).list();
    expect(tripped).toMatchObject({ breaker: `broadcast:${first.thread_id}`, rule: "broadcast" });
    expect(tripped?.agents.sort()).toEqual(["a1", "a2", "a3", "a4"]);
  });

  it("is lifted by clearing (counting starts afresh) or by its hold running out", async () => {
    h = withLoops({
      pair: { messages: 2, windowSeconds: 60, holdSeconds: 1 },
      thread: { messages: 2, windowSeconds: 60 },
    });
    await h.register("alice", "bob", "carol", "dave", "erin");
    await h.sendAs("alice", { to: ["bob"], body: 0 });
    await h.sendAs("bob", { to: ["alice"], body: 1 });
    expect(await outcome(h.sendAs("alice", { to: ["bob"], body: 2 }))).not.toBe("sent");
    // The pair's one-second hold runs out by itself.
    await eventually(
      async () => (await outcome(h!.sendAs("alice", { to: ["bob"], body: 3 }))) === "sent",
    );
    // A thread's budget: tripped by three agents, then cleared by the thread's id.
    const thread = await h.sendAs("carol", { to: ["dave"], body: "c" });
    const inThread = { thread_id: thread.thread_id };
    await h.sendAs("erin", { to: ["carol"], body: "e", ...inThread });
    expect(await outcome(h.sendAs("dave", { to: ["erin"], body: "d", ...inThread }))).not.toBe(
      "sent",
    );
    const loops = new TrippedLoops(h.redis, h.keys);
    expect((await loops.list()).map((l) => l.breaker)).toEqual([`thread:${thread.thread_id}`]);
    expect(await h.service.loops.clear({ thread_id: thread.thread_id })).toEqual([
      `thread:${thread.thread_id}`,
    ]);
    expect(await loops.list()).toEqual([]);
    expect(await h.service.loops.clear({ thread_id: thread.thread_id })).toEqual([]);
    // Counting starts afresh: two more fit.
    expect(await outcome(h.sendAs("dave", { to: ["erin"], body: "d", ...inThread }))).toBe("sent");
    expect(await outcome(h.sendAs("erin", { to: ["dave"], body: "e", ...inThread }))).toBe("sent");
  });

  it("takes two: one agent sending much on its own is no loop (the send rate's business)", async () => {
    h = withLoops({
      pair: { messages: 3, windowSeconds: 60 },
      thread: { messages: 3, windowSeconds: 60 },
    });
    await h.register("alice", "bob");
    const first = await h.sendAs("alice", { to: ["bob"], body: 0 });
    for (let i = 1; i < 10; i++) {
      expect(
        await outcome(h.sendAs("alice", { to: ["bob"], thread_id: first.thread_id, body: i })),
      ).toBe("sent");
    }
    // bob's first answer makes it a conversation over budget.
    expect(
      await outcome(h.sendAs("bob", { to: ["alice"], thread_id: first.thread_id, body: "?" })),
    ).not.toBe("sent");
  });

  it("counts nothing when `loops.enabled` is false", async () => {
    h = withLoops({ enabled: false, pair: { messages: 1 } });
    await h.register("alice", "bob");
    for (let i = 0; i < 5; i++) {
      expect(await outcome(h.sendAs("alice", { to: ["bob"], body: i }))).toBe("sent");
    }
  });
});
