import { describe, expect, it } from "vitest";
import { ERROR_META_KEY } from "../../src/mcp/tool.js";
import { run } from "../support/cli.js";
import {
  call,
  callRaw,
  textOf,
  useServe,
  joinAs,
  writePipeline,
  type Agent,
  type Fetched,
  type McpClient,
} from "../support/mcp.js";

/**
 * The loop and storm breaker with real MCP clients against a real `switchboard serve` and
 * Redis, with the default budgets (`loops`: pair 30 in 60 s, broadcast 10 in 60 s): a
 * ping-pong is stopped and both agents are told, an alert goes to switchboard.alerts, a
 * normal conversation passes, operators and admin agents lift it, bad budgets are refused
 * at start. The budgets' edge cases are in test/integration/loops.test.ts.
 */
const fixture = useServe();

async function cli(...args: string[]) {
  return run(args, fixture.env);
}

/** Sends as `from` to `to`; the error text, or "sent". */
async function send(from: Agent, args: Record<string, unknown>): Promise<string> {
  const result = await callRaw(from.client, "send_message", args);
  return result.isError === true ? textOf(result) : "sent";
}

/** Fetches (waiting) until a message of `type` arrives; acks what it read. */
async function awaitMessage(client: McpClient, type: string) {
  for (let tries = 0; tries < 20; tries++) {
    const { messages } = await call<Fetched>(client, "fetch_inbox", { wait_seconds: 2 });
    if (messages.length > 0) {
      await call(client, "ack_messages", { message_ids: messages.map((m) => m.message_id) });
    }
    const found = messages.find((m) => m.type === type);
    if (found !== undefined) return found;
  }
  throw new Error(`no ${type} message arrived`);
}

/** alice and bob answer each other `count` times in one thread; the outcomes. */
async function pingPong(alice: Agent, bob: Agent, count: number): Promise<string[]> {
  const first = await call<{ thread_id: string }>(alice.client, "send_message", {
    to: [bob.name],
    body: "thanks!",
  });
  const outcomes = ["sent"];
  for (let i = 1; i < count; i++) {
    const [from, to] = i % 2 === 1 ? [bob, alice] : [alice, bob];
    outcomes.push(
      await send(from, { to: [to.name], thread_id: first.thread_id, body: `thanks again ${i}` }),
    );
  }
  return outcomes;
}

describe("the loop and storm breaker", () => {
  it("stops a two-agent ping-pong at the budget, tells both, and alerts", async () => {
    const url = fixture.serve.url;
    const [alice, bob, watcher] = [
      await joinAs(url, "pp-alice", "legacy"),
      await joinAs(url, "pp-bob", "modern"),
      await joinAs(url, "pp-watch", "v1"),
    ];
    await call(watcher.client, "subscribe_topic", { topic: "switchboard.alerts" });
    const outcomes = await pingPong(alice, bob, 32);
    expect(outcomes.slice(0, 30)).toEqual(Array(30).fill("sent"));
    expect(outcomes[30]).toMatch(
      /^LOOP_DETECTED: messages between 'pp-alice' and 'pp-bob' went over the loop budget `loops.pair` \(30 messages in 60 s\), a reply loop: messages between them are refused until \S+Z \(retry after 300 s, retry_after_seconds\); do not answer an acknowledgement or a thank-you; an admin agent may lift it sooner with clear_loop \(field `to`\)/,
    );
    expect(outcomes[31]).toMatch(/^LOOP_DETECTED: messages between 'pp-alice' and 'pp-bob'/);
    const refused = await callRaw(alice.client, "send_message", { to: ["pp-bob"], body: "bye" });
    const meta = (refused as { _meta?: Record<string, Record<string, unknown>> })._meta;
    expect(meta?.[ERROR_META_KEY]).toMatchObject({
      code: "LOOP_DETECTED",
      rule: "pair",
      breaker: "pair:pp-alice,pp-bob",
      messages: 30,
      window_seconds: 60,
    });
    for (const agent of [alice, bob]) {
      const notice = await awaitMessage(agent.client, "switchboard.notice");
      expect(notice.from).toBe("switchboard");
      expect(notice.subject).toMatch(/^loop breaker pair:pp-alice,pp-bob tripped/);
      expect(notice.body).toMatchObject({
        status: "loop_detected",
        breaker: "pair:pp-alice,pp-bob",
        agents: ["pp-alice", "pp-bob"],
        error: { code: "LOOP_DETECTED", rule: "pair", retry_after_seconds: 300 },
      });
    }
    const alert = await awaitMessage(watcher.client, "switchboard.alert");
    expect(alert.body).toMatchObject({
      kind: "loop",
      breaker: "pair:pp-alice,pp-bob",
      rule: "pair",
      agents: ["pp-alice", "pp-bob"],
      messages: 30,
      window_seconds: 60,
    });
    // An operator sees it and lifts it; the two may talk again.
    const listed = await cli("loops", "list", "--json");
    expect(JSON.parse(listed.stdout)).toContainEqual(
      expect.objectContaining({ breaker: "pair:pp-alice,pp-bob", agents: ["pp-alice", "pp-bob"] }),
    );
    expect((await cli("loops")).stdout).toMatch(
      /^breaker\s+agents\s+budget.*\n.*pair:pp-alice,pp-bob\s+pp-alice, pp-bob\s+30\/60s/,
    );
    const cleared = await cli("loops", "clear", "--pair", "pp-bob,pp-alice");
    expect(cleared.stdout).toBe("lifted 1 loop breaker: pair:pp-alice,pp-bob\n");
    expect(await send(alice, { to: ["pp-bob"], body: "sorry" })).toBe("sent");
  }, 60_000);

  it("lets a normal 20-message conversation through", async () => {
    const url = fixture.serve.url;
    const alice = await joinAs(url, "talk-alice", "legacy");
    const bob = await joinAs(url, "talk-bob", "modern");
    expect(await pingPong(alice, bob, 20)).toEqual(Array(20).fill("sent"));
    const listed = JSON.parse((await cli("loops", "list", "--json")).stdout) as {
      breaker: string;
    }[];
    expect(listed.map((l) => l.breaker).filter((b) => b.includes("talk-"))).toEqual([]);
  }, 60_000);

  it("stops a broadcast storm; an admin agent lifts it with clear_loop", async () => {
    const url = fixture.serve.url;
    const team = [];
    for (let i = 0; i < 4; i++) team.push(await joinAs(url, `storm-${i}`, "legacy"));
    const first = await call<{ thread_id: string }>(team[0]!.client, "send_message", {
      broadcast: true,
      body: "standup in 5",
    });
    // Every recipient answers everyone, again and again.
    const outcomes = [];
    for (let i = 1; i < 12; i++) {
      outcomes.push(
        await send(team[i % 4]!, { broadcast: true, thread_id: first.thread_id, body: "ack" }),
      );
    }
    expect(outcomes.slice(0, 9)).toEqual(Array(9).fill("sent"));
    expect(outcomes[9]).toMatch(
      new RegExp(
        `^LOOP_DETECTED: thread '${first.thread_id}' went over the storm budget \`loops.broadcast\` \\(10 messages in 60 s`,
      ),
    );
    // Answering the sender alone still works.
    expect(await send(team[1]!, { to: ["storm-0"], thread_id: first.thread_id, body: "ok" })).toBe(
      "sent",
    );
    const notice = await awaitMessage(team[2]!.client, "switchboard.notice");
    expect(notice.body).toMatchObject({ breaker: `broadcast:${first.thread_id}` });
    // Only admin agents may lift it.
    const refused = await callRaw(team[0]!.client, "clear_loop", { thread_id: first.thread_id });
    expect(textOf(refused)).toMatch(/^FORBIDDEN: clear_loop is an admin tool and 'storm-0'/);
    const admin = await joinAs(url, "storm-admin", "modern");
    expect((await cli("agents", "admin", "storm-admin")).code).toBe(0);
    const { loops } = await call<{ loops: { breaker: string }[] }>(admin.client, "list_loops");
    expect(loops.map((l) => l.breaker)).toContain(`broadcast:${first.thread_id}`);
    expect(await call(admin.client, "clear_loop", { thread_id: first.thread_id })).toMatchObject({
      cleared: [`broadcast:${first.thread_id}`],
    });
    expect(await send(team[3]!, { broadcast: true, thread_id: first.thread_id, body: "go" })).toBe(
      "sent",
    );
    // Bad selections name the field.
    for (const [args, expected] of [
      [{}, /^INVALID_INPUT: field `thread_id`: say which breaker to lift/],
      [{ pair: ["a"] }, /^INVALID_INPUT: field `pair/],
      [
        { thread_id: "t", pair: ["a", "b"] },
        /^INVALID_INPUT: field `pair`: give `thread_id` or `pair`, not both/,
      ],
    ] as const) {
      expect(textOf(await callRaw(admin.client, "clear_loop", args))).toMatch(expected);
    }
  }, 60_000);

  it("refuses bad budgets at start, naming the field and the fix", async () => {
    const bad = await writePipeline("version: 1\nloops:\n  pair: { messages: 0 }\n");
    const check = await run(["pipeline", "check", bad], fixture.env);
    expect(check.code).toBe(2);
    expect(check.stderr).toContain(
      "field `loops.pair.messages`: expected a positive number of messages",
    );
    const hold = await writePipeline("version: 1\nloops:\n  thread: { holdSeconds: 999999 }\n");
    const serve = await run(["serve", "--port", "0", "--pipeline", hold], fixture.env);
    expect(serve.code).toBe(2);
    expect(serve.stderr).toContain(
      "field `loops.thread.holdSeconds`: a hold is at most 86400 seconds (a day); lower it",
    );
    const typo = await writePipeline("version: 1\nloops:\n  pairs: { messages: 5 }\n");
    expect((await run(["pipeline", "check", typo], fixture.env)).stderr).toMatch(/pairs/);
  }, 60_000);
});
