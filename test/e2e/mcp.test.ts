import { describe, expect, it } from "vitest";
import { eventually } from "../support/harness.js";
import {
  call,
  callRaw,
  connectLegacy,
  connectModern,
  connectV1,
  initializeRequest,
  startServe,
  textOf,
  useServe,
  type Credentials,
  type McpClient,
  type Fetched,
} from "../support/mcp.js";

/** MCP over HTTP: both protocol eras and the v1 client, against a real `serve` process. */
const fixture = useServe();

const TOOLS = [
  "register_agent",
  "unregister_agent",
  "heartbeat",
  "list_agents",
  "send_message",
  "fetch_inbox",
  "ack_messages",
  "get_message",
  "get_thread",
  "subscribe_topic",
  "unsubscribe_topic",
  "replay",
  "dlq_list",
  "dlq_replay",
  "dlq_purge",
  "acquire_lease",
  "renew_lease",
  "release_lease",
  "list_leases",
  "break_lease",
  "put_note",
  "get_note",
  "list_notes",
  "note_history",
  "list_loops",
  "clear_loop",
];

interface Registered {
  name: string;
  token: string;
  created: boolean;
}
interface Sent {
  message_id: string;
  thread_id: string;
  status: string;
}

/** Sends, fetches (waiting for delivery) and acks one message; returns what was fetched. */
async function deliver(from: McpClient, to: McpClient, toName: string, body: unknown) {
  const sent = await call<Sent>(from, "send_message", { to: [toName], subject: "hi", body });
  expect(sent).toMatchObject({ status: "accepted", thread_id: sent.message_id });
  const fetched = await call<Fetched>(to, "fetch_inbox", { wait_seconds: 10 });
  expect(fetched.messages).toHaveLength(1);
  expect(fetched.inbox.unread).toBe(1);
  const acked = await call(to, "ack_messages", { message_ids: [sent.message_id] });
  expect(acked).toMatchObject({ acked: [sent.message_id], inbox: { unread: 0 } });
  return { sent, message: fetched.messages[0]! };
}

describe("MCP over HTTP", () => {
  it("lists the twenty-one tools, each with described input and output schemas", async () => {
    const client = await connectLegacy(fixture.serve.url);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(TOOLS);
    for (const tool of tools) {
      expect(tool.description?.length).toBeGreaterThan(40);
      expect(tool.inputSchema.type).toBe("object");
      expect(tool.outputSchema?.type).toBe("object");
      expect(Object.keys(tool.outputSchema?.properties ?? {})).toContain("inbox");
    }
    const send = tools.find((t) => t.name === "send_message")!;
    const properties = send.inputSchema.properties as Record<string, { description?: string }>;
    expect(properties.to?.description).toMatch(/exactly one target/);
    expect(send.inputSchema).toMatchObject({ required: ["body"], additionalProperties: false });
  });

  it("serves agents of both eras and the v1 client: send, fetch, ack among them", async () => {
    const { url } = fixture.serve;
    const alice = await connectLegacy(url);
    const bobAuth: Credentials = {};
    const bob = await connectModern(url, bobAuth);
    const carol = await connectV1(url);
    expect(alice.getProtocolEra()).toBe("legacy");
    expect(bob.getProtocolEra()).toBe("modern");

    expect(await call<Registered>(alice, "register_agent", { name: "alice" })).toMatchObject({
      name: "alice",
      created: true,
      token: expect.stringMatching(/^sbt_/),
      inbox: { unread: 0, oldest_waiting_seconds: null },
    });
    const registered = await call<Registered>(bob, "register_agent", {
      name: "bob",
      capabilities: ["code-review"],
    });
    // Stateless: nothing is remembered between requests until the token is presented.
    await expect(call(bob, "heartbeat")).rejects.toThrow(/^UNAUTHENTICATED: .*register_agent/);
    bobAuth.token = registered.token;
    expect(await call(bob, "heartbeat")).toMatchObject({ name: "bob", status: "online" });
    await call(carol, "register_agent", { name: "carol" });

    const first = await deliver(alice, bob, "bob", { n: 1 });
    expect(first.message).toMatchObject({ from: "alice", subject: "hi", body: { n: 1 }, seq: 1 });
    await deliver(bob, carol, "carol", "two");
    const third = await deliver(carol, alice, "alice", [3]);
    expect(third.message).toMatchObject({ from: "carol", body: [3] });

    const view = await eventually(async () => {
      const { message } = await call<{
        message: { recipients: Record<string, { status: string }> };
      }>(alice, "get_message", { message_id: first.sent.message_id });
      return message.recipients.bob?.status === "acked" ? message : undefined;
    });
    expect(view).toMatchObject({ from: "alice", to: { kind: "agents", agents: ["bob"] } });

    const listed = await call<{ agents: { name: string }[] }>(carol, "list_agents", {
      capability: "code-review",
    });
    expect(listed.agents.map((a) => a.name)).toEqual(["bob"]);
  });

  it("puts the inbox digest on every result, as structured content and as text", async () => {
    const { url } = fixture.serve;
    const dana = await connectLegacy(url);
    const erin = await connectLegacy(url);
    await call(dana, "register_agent", { name: "dana" });
    await call(erin, "register_agent", { name: "erin" });
    await call(dana, "send_message", { to: ["erin"], body: "ping" });
    const digest = await eventually(async () => {
      const result = await callRaw(erin, "list_agents");
      const inbox = result.structuredContent?.inbox as { unread: number } | undefined;
      return inbox?.unread === 1 ? textOf(result) : undefined;
    });
    expect(digest).toMatch(/^\d+ agents: .*; inbox: 1 unread, oldest \d+ s\n\{/);
    const failed = await callRaw(erin, "get_thread", { thread_id: "nope" });
    expect(failed.isError).toBe(true);
    expect(textOf(failed)).toMatch(/^NOT_FOUND: .*; inbox: 1 unread, oldest \d+ s$/);
  });

  it("passes a well-formed traceparent along and ignores a malformed one", async () => {
    const client = await connectLegacy(fixture.serve.url);
    await call(client, "register_agent", { name: "tracer" });
    const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    for (const meta of [{ traceparent }, { traceparent: "garbage" }]) {
      const sent = await call<Sent>(client, "send_message", { to: ["tracer"], body: 1 }, { meta });
      expect(sent.status).toBe("accepted");
    }
  });

  it("lets a second serve process act as the same agent by its token", async () => {
    const alice = await connectLegacy(fixture.serve.url);
    const { token } = await call<Registered>(alice, "register_agent", { name: "frank" });
    const other = await startServe(fixture.env, ["--no-workers"]);
    try {
      expect(other.url.port).not.toBe(fixture.serve.url.port);
      const again = await connectLegacy(other.url, token);
      expect(await call(again, "heartbeat")).toMatchObject({ name: "frank" });
      const grace = await connectModern(other.url);
      const graceToken = (await call<Registered>(grace, "register_agent", { name: "grace" })).token;
      expect(graceToken).toMatch(/^sbt_/);
      await call(again, "send_message", { to: ["grace"], body: "via the second process" });
      const graceOnFirst = await connectV1(fixture.serve.url, graceToken);
      const fetched = await call<Fetched>(graceOnFirst, "fetch_inbox", { wait_seconds: 10 });
      expect(fetched.messages[0]).toMatchObject({ from: "frank", body: "via the second process" });
    } finally {
      expect((await other.stop()).code).toBe(0);
    }
  });

  it("answers 403 to a foreign Origin, 404 off /mcp, and ok on /healthz", async () => {
    const { url } = fixture.serve;
    const initialize = initializeRequest("x");
    const post = (origin: string) =>
      fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          origin,
        },
        body: JSON.stringify(initialize),
      });
    const foreign = await post("https://evil.example");
    expect(foreign.status).toBe(403);
    expect(await foreign.text()).toContain("evil.example");
    const local = await post("http://localhost:5173");
    expect(local.status).toBe(200);
    expect(local.headers.get("mcp-session-id")).toBeTruthy();
    await local.body?.cancel();
    expect((await fetch(new URL("/other", url))).status).toBe(404);
    const health = await fetch(new URL("/healthz", url));
    expect([health.status, await health.text()]).toEqual([200, "ok"]);
  });
});
