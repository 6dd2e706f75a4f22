import { afterEach, describe, expect, it } from "vitest";
import { ERROR_META_KEY } from "../../src/mcp/tool.js";
import { run } from "../support/cli.js";
import {
  call,
  callRaw,
  connectModern,
  FAST_PIPELINE_YAML,
  joinAs,
  startServe,
  textOf,
  useServe,
  type ServeProcess,
} from "../support/mcp.js";

/**
 * Each agent's send rate (`limits.sendRate`) is one token bucket in Redis, shared by every
 * front end: bursts of 4 here, refilled so slowly (one send per 20 s) that nothing refills
 * within a test. The refill itself is tested in test/integration/send-rate.test.ts.
 */
const fixture = useServe({
  yaml: `${FAST_PIPELINE_YAML}limits:\n  sendRate: { perSecond: 0.05, burst: 4 }\n`,
});

let second: ServeProcess | undefined;
afterEach(async () => {
  await second?.stop();
  second = undefined;
});

const RATE_LIMITED =
  /^RATE_LIMITED: 'r\w+' sends faster than 0.05 messages per second \(bursts of 4\); retry after (\d+(?:\.\d+)?) s \(retry_after_seconds\)/;

describe("the send rate", () => {
  it("refuses the send after a burst, saying how long to wait, in words and as data", async () => {
    const { client } = await joinAs(fixture.serve.url, "r1", "legacy", ["ops"]);
    await joinAs(fixture.serve.url, "r1-peer", "legacy", ["ops"]);
    // A broadcast and a capability send count as one send each, whatever they reach.
    for (const args of [
      { broadcast: true, body: "all of you" },
      { capability: "ops", mode: "all", body: "ops, all" },
      { to: ["r1-peer"], body: 3 },
      { to: ["r1-peer", "r1"], body: 4 },
    ]) {
      expect(await call(client, "send_message", args)).toMatchObject({ status: "accepted" });
    }
    const refused = await callRaw(client, "send_message", { to: ["r1-peer"], body: 5 });
    expect(refused.isError).toBe(true);
    const text = textOf(refused);
    const wait = Number(RATE_LIMITED.exec(text)?.[1]);
    expect(wait, text).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(20);
    const meta = (refused as { _meta?: Record<string, unknown> })._meta;
    expect(meta?.[ERROR_META_KEY]).toEqual({ code: "RATE_LIMITED", retry_after_seconds: wait });
    // Refused sends take nothing: still refused, and reading is never limited.
    expect(textOf(await callRaw(client, "send_message", { to: ["r1-peer"], body: 6 }))).toMatch(
      RATE_LIMITED,
    );
    expect((await callRaw(client, "fetch_inbox", {})).isError).toBeUndefined();
  });

  it("is one bucket for an agent across front-end processes and the CLI", async () => {
    const { token } = await joinAs(fixture.serve.url, "r2", "legacy");
    second = await startServe(fixture.env);
    const viaFirst = await connectModern(fixture.serve.url, { token });
    const viaSecond = await connectModern(second.url, { token });
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++) {
      const client = i % 2 === 0 ? viaFirst : viaSecond;
      const result = await callRaw(client, "send_message", { to: ["r2"], body: i });
      outcomes.push(result.isError === true ? textOf(result).split(":")[0]! : "sent");
    }
    expect(outcomes).toEqual(["sent", "sent", "sent", "sent", "RATE_LIMITED", "RATE_LIMITED"]);
    const cli = await run(["send", "--from", "r2", "--to", "r2", "--body", "hi"], fixture.env);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/^switchboard: 'r2' sends faster than 0.05 messages per second/);
    // Another agent has a bucket of its own.
    const { client: other } = await joinAs(second.url, "r3", "legacy");
    expect(await call(other, "send_message", { to: ["r2"], body: "mine" })).toMatchObject({
      status: "accepted",
    });
  }, 120_000);
});
