import { ProtocolError } from "@modelcontextprotocol/client";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { mintToken } from "../../src/protocol/token.js";
import { eventually } from "../support/harness.js";
import {
  call,
  connectLegacy,
  connectModern,
  connectV1,
  FAST_PIPELINE_YAML,
  useServe,
  type McpClient,
} from "../support/mcp.js";

/** Bad input gets an `isError` result naming the field and the fix; nothing crashes. */
const fixture = useServe({ yaml: `${FAST_PIPELINE_YAML}limits:\n  maxBodyBytes: 2048\n` });

let aliceToken: string;
/** alice, by her token, with a v1 client; a new client for each test. */
let alice: McpClient;

beforeAll(async () => {
  const first = await connectLegacy(fixture.serve.url);
  ({ token: aliceToken } = await call<{ token: string }>(first, "register_agent", {
    name: "alice",
  }));
  await call(await connectLegacy(fixture.serve.url), "register_agent", { name: "bob" });
});

beforeEach(async () => {
  alice = await connectV1(fixture.serve.url, aliceToken);
});

/** The text of the isError result of a call that should fail. */
async function refusal(client: McpClient, tool: string, args: Record<string, unknown>) {
  const error = await call(client, tool, args).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return (error as Error).message;
}

describe("MCP tools refuse bad input", () => {
  it("asks a caller who is not an agent to register or present a token", async () => {
    const stranger = await connectLegacy(fixture.serve.url);
    expect(await refusal(stranger, "fetch_inbox", {})).toMatch(
      /^UNAUTHENTICATED: .*call register_agent first, or present your token/,
    );
    const forged = await connectModern(fixture.serve.url, { token: "sbt_not-a-token" });
    expect(await refusal(forged, "heartbeat", {})).toMatch(
      /^UNAUTHENTICATED: the presented token is 15 characters long where a token has 36/,
    );
    const unknown = await connectModern(fixture.serve.url, { token: mintToken() });
    expect(await refusal(unknown, "heartbeat", {})).toMatch(/^UNAUTHENTICATED: this token/);
  });

  it("names the field and the fix for a forged sender, unknown and contradictory arguments", async () => {
    const send = (args: Record<string, unknown>) => refusal(alice, "send_message", args);
    expect(await send({ from: "bob", to: ["bob"], body: 1 })).toMatch(
      /^INVALID_INPUT: field `from`: not an argument; the sender is always .* remove `from`/,
    );
    expect(await send({ to: ["bob"], broadcast: true, body: 1 })).toMatch(
      /^INVALID_INPUT: field `broadcast`: give exactly one target, not `to` and `broadcast`/,
    );
    expect(await send({ body: 1 })).toMatch(/^INVALID_INPUT: field `to`: give a target/);
    expect(await send({ to: ["bob"], body: 1, priority: "high" })).toMatch(
      /^INVALID_INPUT: field `priority`: unknown argument; the arguments are to, capability/,
    );
    expect(await send({ to: ["nobody"], body: 1 })).toMatch(
      /^NOT_FOUND: no agent named 'nobody'; list_agents .* \(field `to`\)/,
    );
    expect(await send({ topic: "Builds/Main", body: 1 })).toMatch(
      /^INVALID_INPUT: field `topic`: a topic is .*lowercase/,
    );
    expect(await refusal(alice, "subscribe_topic", { topic: "a b" })).toMatch(/field `topic`/);
    expect(await refusal(alice, "ack_messages", { message_ids: [] })).toMatch(
      /field `message_ids`: give at least one message id/,
    );
  });

  it("refuses a body over the size limit at once", async () => {
    const text = await refusal(alice, "send_message", { to: ["bob"], body: "x".repeat(4096) });
    expect(text).toMatch(/^TOO_LARGE: .*over the limit of 2048.*body/);
  });

  it("returns the first message for a retried idempotency key, refuses it with another body", async () => {
    const args = { to: ["bob"], body: "once", idempotency_key: "k1" };
    const first = await call<{ message_id: string }>(alice, "send_message", args);
    const again = await eventually(async () => {
      const result = await call<{ message_id: string; status: string }>(
        alice,
        "send_message",
        args,
      );
      return result.status === "duplicate" ? result : undefined;
    });
    expect(again.message_id).toBe(first.message_id);
    expect(await refusal(alice, "send_message", { ...args, body: "twice" })).toMatch(
      /^DUPLICATE_IDEMPOTENCY_KEY: .*'k1'.*use a new key.*\(field `idempotency_key`\)/,
    );
  });

  it("keeps names: a taken one is refused, a session cannot become another agent", async () => {
    const other = await connectLegacy(fixture.serve.url);
    expect(await refusal(other, "register_agent", { name: "alice" })).toMatch(
      /^NAME_TAKEN: .*present its token/,
    );
    expect(await refusal(alice, "register_agent", { name: "mallory" })).toMatch(
      /^INVALID_INPUT: this connection is agent 'alice'.*\(field `name`\)/,
    );
    await call(other, "register_agent", { name: "dora" });
    expect(await refusal(other, "register_agent", { name: "mallory" })).toMatch(
      /^INVALID_INPUT: this connection is agent 'dora'/,
    );
    const updated = await call(alice, "register_agent", { name: "alice", capabilities: ["ops"] });
    expect(updated).toMatchObject({
      created: false,
      token: aliceToken,
      agent: { capabilities: ["ops"] },
    });
  });

  it("answers an unknown tool with a JSON-RPC error", async () => {
    const client = await connectLegacy(fixture.serve.url);
    const error = await client.callTool({ name: "nope", arguments: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe(-32602);
  });

  it("answers an unknown tool in the stateless era too, and still lists every tool", async () => {
    // A stateless tools/call is served by a server with only the tool called (src/mcp/server.ts).
    const client = await connectModern(fixture.serve.url, { token: aliceToken });
    const error = await client.callTool({ name: "nope", arguments: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect((error as ProtocolError).code).toBe(-32602);
    const { tools } = await client.listTools();
    expect(tools).toHaveLength(26);
    expect(await call(client, "heartbeat")).toMatchObject({ name: "alice", status: "online" });
  });

  it("still works after all that, and unregistering retires the token", async () => {
    const carolAuth = { token: undefined as string | undefined };
    const carol = await connectModern(fixture.serve.url, carolAuth);
    carolAuth.token = (
      await call<{ token: string }>(carol, "register_agent", { name: "carol" })
    ).token;
    await call(alice, "send_message", { to: ["carol"], body: "still here" });
    const fetched = await call<{ messages: { body: unknown }[] }>(carol, "fetch_inbox", {
      wait_seconds: 10,
    });
    expect(fetched.messages.map((m) => m.body)).toEqual(["still here"]);
    expect(await call(carol, "unregister_agent")).toMatchObject({
      name: "carol",
      unregistered: true,
    });
    expect(await refusal(carol, "heartbeat", {})).toMatch(
      /^UNAUTHENTICATED: this token belongs to no agent/,
    );
    expect(await refusal(alice, "send_message", { to: ["carol"], body: 1 })).toMatch(/^NOT_FOUND/);
  });
});
