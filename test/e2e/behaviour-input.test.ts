import { beforeAll, describe, expect, it } from "vitest";
import { eventually } from "../support/harness.js";
import {
  call,
  callRaw,
  connectLegacy,
  connectModern,
  connectV1,
  joinAs,
  textOf,
  useServe,
  type McpClient,
} from "../support/mcp.js";

/**
 * Every one of the twelve tools answers bad input with an `isError` result that names
 * the field and the fix (what the other e2e files do not check already), and the server
 * keeps serving afterwards.
 */
const fixture = useServe();

let token: string;

beforeAll(async () => {
  ({ token } = await joinAs(fixture.serve.url, "quinn", "modern"));
  await joinAs(fixture.serve.url, "rudy", "legacy");
});

/** The text of a refused call: it must be an isError result, with the inbox digest. */
async function refusal(client: McpClient, tool: string, args: Record<string, unknown> = {}) {
  const result = await callRaw(client, tool, args);
  expect(result.isError, `${tool} ${JSON.stringify(args)}: ${textOf(result)}`).toBe(true);
  expect(result.structuredContent).toBeUndefined();
  return textOf(result);
}

const EXAMPLES: [tool: string, args: Record<string, unknown>, expected: RegExp][] = [
  [
    "register_agent",
    { name: "" },
    /^INVALID_INPUT: field `name`: an agent name is 1-64 characters: letters, digits/,
  ],
  ["register_agent", { name: "switchboard" }, /field `name`: 'switchboard' is reserved; choose/],
  [
    "register_agent",
    { name: "quinn", capabilities: ["Code Review"] },
    /field `capabilities\[0\]`: a capability is a lowercase name .* such as `code-review`/,
  ],
  [
    "register_agent",
    { name: "quinn", webhook_url: "ftp://x" },
    /field `webhook_url`: expected an http:\/\/ or https:\/\/ URL/,
  ],
  [
    "heartbeat",
    { extra: 1 },
    /^INVALID_INPUT: field `extra`: unknown argument; this tool takes no/,
  ],
  ["unregister_agent", { force: true }, /field `force`: unknown argument; this tool takes no/],
  ["list_agents", { status: "sleepy" }, /field `status`: .*"online".*"idle".*"offline"/],
  ["list_agents", { capability: "Ops!" }, /field `capability`: a capability is a lowercase/],
  ["send_message", {}, /^INVALID_INPUT: field `body`: /],
  ["send_message", { to: [], body: 1 }, /field `to`: name at least one recipient/],
  ["send_message", { to: ["rudy"], body: 1, ttl_seconds: 0 }, /field `ttl_seconds`: .*>0/],
  [
    "send_message",
    { to: ["rudy"], body: 1, await_reply_seconds: 46 },
    /field `await_reply_seconds`: wait at most 45 seconds .* fetch_inbox later/,
  ],
  ["send_message", { capability: "ops", mode: "some", body: 1 }, /field `mode`: .*"any".*"all"/],
  [
    "send_message",
    { broadcast: true, mode: "all", body: 1 },
    /field `mode`: `mode` goes with `capability` \(and not with `broadcast`\)/,
  ],
  [
    "send_message",
    { to: ["rudy"], body: 1, reply_to: "01900000-0000-7000-8000-000000000000" },
    /^NOT_FOUND: reply_to: no message .* that you sent or received/,
  ],
  ["fetch_inbox", { limit: 0 }, /^INVALID_INPUT: field `limit`: .*>=1/],
  ["fetch_inbox", { limit: 101 }, /field `limit`: .*<=100/],
  ["fetch_inbox", { wait_seconds: 61 }, /field `wait_seconds`: .*60/],
  ["fetch_inbox", { wait_seconds: "soon" }, /field `wait_seconds`: .*expected number/],
  [
    "ack_messages",
    { message_ids: ["nope"] },
    /field `message_ids\[0\]`: expected a message id \(a lowercase UUIDv7\)/,
  ],
  ["ack_messages", {}, /field `message_ids`: .*expected array/],
  ["get_message", { message_id: "x" }, /field `message_id`: expected a message id/],
  [
    "get_message",
    { message_id: "01900000-0000-7000-8000-000000000000" },
    /^NOT_FOUND: no message .* that you sent or received; check the id/,
  ],
  [
    "get_thread",
    { thread_id: "bad id!" },
    /field `thread_id`: a thread id is 1-128 characters: letters, digits/,
  ],
  [
    "subscribe_topic",
    { topic: "Bad Topic" },
    /field `topic`: a topic is 1-128 lowercase .*`builds.main`/,
  ],
  ["unsubscribe_topic", {}, /^INVALID_INPUT: field `topic`: /],
  ["replay", { thread_id: "bad id!" }, /field `thread_id`: a thread id is 1-128 characters/],
  ["replay", { after: "yesterday" }, /field `after`: a cursor is an inbox id such as/],
  ["replay", { after: "0", limit: 201 }, /field `limit`: .*<=200/],
];

describe("bad input to every tool", () => {
  it("is an isError result that names the field and the fix", async () => {
    const quinn = await connectV1(fixture.serve.url, token);
    for (const [tool, args, expected] of EXAMPLES) {
      const text = await refusal(quinn, tool, args);
      expect(text, `${tool} ${JSON.stringify(args)}`).toMatch(expected);
      expect(text).toMatch(/; inbox: /);
    }
    // Every tool was given bad input.
    expect(new Set(EXAMPLES.map(([tool]) => tool)).size).toBe(12);
    // A refused unregister_agent did nothing.
    expect(await call(quinn, "heartbeat")).toMatchObject({ name: "quinn", status: "online" });
  });

  it("says what to give when the body is missing", async () => {
    // A missing body is named, with what to give: any JSON value.
    const quinn = await connectV1(fixture.serve.url, token);
    for (const args of [{}, { to: ["rudy"] }]) {
      expect(await refusal(quinn, "send_message", args)).toMatch(
        /^INVALID_INPUT: field `body`: .*JSON value/,
      );
    }
  });

  it("asks a caller who is no agent to register, whatever the tool", async () => {
    const stranger = await connectModern(fixture.serve.url);
    for (const tool of ["unregister_agent", "heartbeat", "get_thread", "replay", "list_agents"]) {
      expect(await refusal(stranger, tool)).toMatch(
        /^UNAUTHENTICATED: you are not an agent yet: call register_agent first, or present your token/,
      );
    }
  });

  it("still serves normal traffic afterwards, with nothing logged as an internal error", async () => {
    const quinn = await connectModern(fixture.serve.url, { token });
    const rudy = await connectLegacy(fixture.serve.url);
    await expect(call(rudy, "register_agent", { name: "rudy" })).rejects.toThrow(/NAME_TAKEN/);
    const sam = await joinAs(fixture.serve.url, "sam", "legacy");
    const sent = await call<{ message_id: string }>(quinn, "send_message", {
      to: ["sam"],
      body: "all good",
    });
    const { messages } = await call<{ messages: { message_id: string; body: unknown }[] }>(
      sam.client,
      "fetch_inbox",
      { wait_seconds: 10 },
    );
    expect(messages).toEqual([expect.objectContaining({ message_id: sent.message_id })]);
    await call(sam.client, "ack_messages", { message_ids: [sent.message_id] });
    await eventually(async () => {
      const { message } = await call<{ message: { recipients: { sam?: { status: string } } } }>(
        quinn,
        "get_message",
        { message_id: sent.message_id },
      );
      return message.recipients.sam?.status === "acked";
    }, 15_000);
    expect(fixture.serve.child.exitCode).toBeNull();
    expect(fixture.serve.stderr()).not.toMatch(/"level":"error"|"tool failed"/);
  });
});
