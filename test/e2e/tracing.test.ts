import { randomBytes, randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import { createServer } from "node:net";
import { dirname } from "node:path";
import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { encodeEnvelope } from "../../src/protocol/codec.js";
import { composeEnvelope } from "../../src/protocol/compose.js";
import { Keys } from "../../src/redis/keys.js";
import { cliEnv, killAll } from "../support/cli.js";
import {
  call,
  closeClients,
  connectLegacy,
  joinAs,
  startServe,
  fastPipelineWith,
  writePipeline,
  type Agent,
  type Fetched,
} from "../support/mcp.js";
import { JSON_TYPE, OtlpReceiver, PROTOBUF, SpanKindCode } from "../support/otlp.js";
import { WebhookServer } from "../support/webhook-server.js";
import { connect, deleteByPrefix, testPrefix } from "../support/redis.js";
import {
  checkHops,
  startSplit,
  tracingEnv,
  waitForHops,
  WORKER_STAGES,
  type Hop,
  type Split,
} from "../support/traced.js";

/**
 * Traces across real processes: a front end alone (`serve --no-workers`) and two workers
 * (`validate,route` and `deliver,persist`) export to a test OTLP receiver while agents
 * send, fetch and ack through MCP with the SDK's real client.
 */

const FRONT = "none";
const [EARLY, LATE] = WORKER_STAGES;

/**
 * The hops of a message to an inbox recipient who fetches and acks it. A test of another
 * path (a webhook recipient, a delivery retried) states its own hops the same way.
 */
const INBOX_HOPS: Hop[] = [
  { name: "tools/call send_message", parent: null, process: FRONT },
  { name: "send validate", parent: "tools/call send_message", process: FRONT },
  { name: "process validate", parent: "send validate", process: EARLY },
  { name: "process route", parent: "process validate", process: EARLY },
  { name: "process persist", parent: "process route", process: LATE },
  { name: "process deliver", parent: "process route", process: LATE },
  { name: "send inbox", parent: "process deliver", process: LATE },
  { name: "process persist", parent: "process deliver", process: LATE },
  { name: "receive inbox", parent: "send inbox", process: FRONT },
  { name: "process persist", parent: "receive inbox", process: LATE },
  { name: "settle inbox", parent: "send inbox", process: FRONT },
  { name: "process persist", parent: "settle inbox", process: LATE },
];

const hex = (bytes: number) => randomBytes(bytes).toString("hex");

interface Sent {
  message_id: string;
}

/** `from` sends one message to `to`, who fetches it and acks it; the message id. */
async function sendFetchAck(
  from: Agent,
  to: Agent,
  body: unknown,
  meta?: Record<string, unknown>,
): Promise<string> {
  const args = { to: [to.name], subject: "traced", body };
  const sent = await call<Sent>(from.client, "send_message", args, meta ? { meta } : {});
  await receive(to, sent.message_id);
  return sent.message_id;
}

/** `agent` fetches until `messageId` comes, then acks it. */
async function receive(agent: Agent, messageId: string): Promise<void> {
  for (let i = 0; i < 5; i += 1) {
    const fetched = await call<Fetched>(agent.client, "fetch_inbox", { wait_seconds: 10 });
    if (fetched.messages.some((m) => m.message_id === messageId)) {
      await call(agent.client, "ack_messages", { message_ids: [messageId] });
      return;
    }
  }
  throw new Error(`${agent.name} never got ${messageId}`);
}

/** The trace a message's ingress span (or, with no front end, validate's) belongs to. */
function traceOfMessage(receiver: OtlpReceiver, messageId: string, span = "send validate") {
  return receiver.waitFor(`the ${span} span of ${messageId}`, () => {
    return receiver.spans.find(
      (s) => s.name === span && s.attributes["messaging.message.id"] === messageId,
    )?.traceId;
  });
}

describe("tracing across a front end and two workers", () => {
  let receiver: OtlpReceiver;
  let split: Split;
  let redis: Redis;
  let prefix: string;
  let pipelineFile: string;
  let alice: Agent;
  let bob: Agent;

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
    prefix = testPrefix();
    pipelineFile = await writePipeline(
      fastPipelineWith({ retries: { delivery: { attempts: 4, delayMs: 200, jitter: 0 } } }),
    );
    redis = await connect();
    split = await startSplit({ ...cliEnv(prefix, pipelineFile), ...tracingEnv(receiver.url) });
    alice = await joinAs(split.serve.url, "alice", "legacy");
    bob = await joinAs(split.serve.url, "bob", "modern");
  }, 60_000);

  afterAll(async () => {
    await closeClients();
    const exits = await split?.stop();
    killAll();
    await receiver?.close();
    await deleteByPrefix(redis, prefix);
    await redis.quit();
    await rm(dirname(pipelineFile), { recursive: true, force: true });
    expect(exits?.map((e) => e.code)).toEqual([0, 0, 0]);
  });

  it("makes one connected trace of a message, under the client's traceparent", async () => {
    const traceId = hex(16);
    const clientSpanId = hex(8);
    const secret = `body-${randomUUID()}`;
    const messageId = await sendFetchAck(
      alice,
      bob,
      { secret },
      {
        traceparent: `00-${traceId}-${clientSpanId}-01`,
      },
    );

    const spans = await waitForHops(receiver, traceId, INBOX_HOPS, clientSpanId);
    expect(checkHops(spans, INBOX_HOPS, clientSpanId)).toEqual([]);
    const pids = new Set(spans.map((s) => s.resource["process.pid"]));
    expect(pids.size).toBe(3);

    const named = (name: string) => spans.find((s) => s.name === name)!;
    expect(named("tools/call send_message")).toMatchObject({
      kind: SpanKindCode.server,
      attributes: { "mcp.method.name": "tools/call", "gen_ai.tool.name": "send_message" },
    });
    expect(named("send validate")).toMatchObject({
      kind: SpanKindCode.producer,
      attributes: {
        "messaging.system": "redis_streams",
        "messaging.operation.type": "send",
        "messaging.destination.name": "validate",
        "messaging.message.id": messageId,
      },
    });
    for (const stage of ["validate", "route", "deliver", "persist"]) {
      for (const span of spans.filter((s) => s.name === `process ${stage}`)) {
        expect(span).toMatchObject({
          kind: SpanKindCode.consumer,
          attributes: {
            "messaging.system": "redis_streams",
            "messaging.operation.type": "process",
            "messaging.destination.name": stage,
            "messaging.consumer.group.name": stage,
            "messaging.message.id": messageId,
            "switchboard.outcome": expect.stringMatching(/^(forward|done)$/),
          },
        });
      }
    }
    expect(named("process deliver").attributes["switchboard.recipient"]).toBe("bob");
    expect(named("send inbox").attributes).toMatchObject({
      "messaging.operation.type": "send",
      "messaging.destination.name": "inbox:bob",
      "messaging.message.id": messageId,
    });
    // Fetch and ack are bob's own calls: linked from the message's trace, not part of it.
    for (const name of ["receive inbox", "settle inbox"]) {
      const [link] = named(name).links;
      // The call's own span is exported when the call ends, maybe after the hops were seen.
      const call = await receiver.waitFor(`the call linked from ${name}`, () =>
        receiver.spans.find((s) => s.spanId === link?.spanId),
      );
      expect(call?.name).toBe(
        name === "receive inbox" ? "tools/call fetch_inbox" : "tools/call ack_messages",
      );
      expect(call?.traceId).not.toBe(traceId);
    }
    // Bodies and subjects are never exported.
    expect(receiver.bodies.some((b) => b.includes(secret) || b.includes("traced"))).toBe(false);
  });

  it("puts a webhook delivery's failed attempt and its retry in the message's trace", async () => {
    const hook = await WebhookServer.start((_, n) => ({ status: n === 0 ? 503 : 200 }));
    try {
      const client = await connectLegacy(split.serve.url);
      await call(client, "register_agent", { name: "pager", webhook_url: hook.url });
      const traceId = hex(16);
      const clientSpanId = hex(8);
      const { message_id } = await call<Sent>(
        alice.client,
        "send_message",
        { to: ["pager"], body: "wake up" },
        { meta: { traceparent: `00-${traceId}-${clientSpanId}-01` } },
      );
      const hops: Hop[] = [
        ...INBOX_HOPS.slice(0, 6),
        {
          name: "send webhook",
          parent: "process deliver",
          process: LATE,
          attributes: { "switchboard.attempt": 1, "error.type": "WEBHOOK_SERVER_ERROR" },
        },
        {
          name: "send webhook",
          parent: "process deliver",
          process: LATE,
          attributes: { "switchboard.attempt": 2, "switchboard.outcome": "forward" },
        },
        { name: "process persist", parent: "send webhook", process: LATE },
      ];
      const spans = await waitForHops(receiver, traceId, hops, clientSpanId);
      expect(checkHops(spans, hops, clientSpanId)).toEqual([]);
      expect(hook.deliveries(message_id)).toBe(1);
      expect(hook.received.map((r) => r.headers.traceparent)).toEqual([
        expect.stringContaining(traceId),
        expect.stringContaining(traceId),
      ]);
      await client.close();
    } finally {
      await hook.close();
    }
  });

  it("exports as http/protobuf, the default, which a collector decodes", () => {
    expect(receiver.spans.length).toBeGreaterThan(0);
    expect(new Set(receiver.contentTypes)).toEqual(new Set([PROTOBUF]));
    expect(receiver.errors).toEqual([]);
    expect(split.serve.stderr()).toMatch(/"protocol":"http\/protobuf".*"msg":"tracing on"/);
  });

  it("puts trace_id and span_id on the log lines written inside a span", async () => {
    const line = split.serve
      .stderr()
      .split("\n")
      .find((l) => l.includes('"agent registered"') && l.includes('"alice"'));
    const logged = JSON.parse(line ?? "{}") as { trace_id?: string; span_id?: string };
    const span = await receiver.waitFor("the span of the logged line", () =>
      receiver.spans.find((s) => s.spanId === logged.span_id),
    );
    expect(span).toMatchObject({ name: "tools/call register_agent", traceId: logged.trace_id });
  });

  it("follows a client's decision not to sample: nothing exported, the message delivered", async () => {
    const traceId = hex(16);
    await sendFetchAck(alice, bob, "quiet", { traceparent: `00-${traceId}-${hex(8)}-00` });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(receiver.trace(traceId)).toEqual([]);
  });

  it("starts a new trace for a malformed traceparent, and delivers the message", async () => {
    const messageId = await sendFetchAck(alice, bob, "hello", { traceparent: "00-garbage-01" });
    const traceId = await traceOfMessage(receiver, messageId);
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const spans = await waitForHops(receiver, traceId, INBOX_HOPS);
    expect(checkHops(spans, INBOX_HOPS)).toEqual([]);
  });

  it("ignores a malformed traceparent in an entry: validate starts the trace", async () => {
    const keys = new Keys(prefix);
    const envelope = composeEnvelope({ from: "alice", to: ["bob"], body: "from a producer" });
    const { enc, data } = encodeEnvelope(envelope);
    await redis.xadd(
      keys.stream("validate"),
      "*",
      "t",
      "msg",
      "mid",
      envelope.id,
      "enc",
      enc,
      "env",
      data,
      "tp",
      "00-zz-zz-01",
    );
    await receive(bob, envelope.id);
    const traceId = await traceOfMessage(receiver, envelope.id, "process validate");
    const hops = INBOX_HOPS.slice(2).map((hop) =>
      hop.parent === "send validate" ? { ...hop, parent: null } : hop,
    );
    const spans = await waitForHops(receiver, traceId, hops);
    expect(checkHops(spans, hops)).toEqual([]);
  });
});

describe("tracing with OTEL_EXPORTER_OTLP_PROTOCOL=http/json", () => {
  const prefix = testPrefix();
  let receiver: OtlpReceiver;
  let pipelineFile: string;
  let redis: Redis;

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
    pipelineFile = await writePipeline();
    redis = await connect();
  });
  afterEach(closeClients);
  afterAll(async () => {
    killAll();
    await receiver?.close();
    await deleteByPrefix(redis, prefix);
    await redis.quit();
    await rm(dirname(pipelineFile), { recursive: true, force: true });
  });

  it("sends a message's trace as JSON", async () => {
    const env = { ...cliEnv(prefix, pipelineFile), ...tracingEnv(receiver.url, "http/json") };
    const serve = await startServe(env);
    const erin = await joinAs(serve.url, "erin", "legacy");
    const finn = await joinAs(serve.url, "finn", "modern");
    const traceId = hex(16);
    const clientSpanId = hex(8);
    await sendFetchAck(erin, finn, "as json", { traceparent: `00-${traceId}-${clientSpanId}-01` });
    const spans = await receiver.waitFor("the message's spans", () => {
      const found = receiver.trace(traceId);
      const names = new Set(found.map((s) => s.name));
      const all = ["tools/call send_message", "process deliver", "send inbox", "process persist"];
      return all.every((name) => names.has(name)) ? found : undefined;
    });
    expect(spans.find((s) => s.name === "tools/call send_message")?.parentSpanId).toBe(
      clientSpanId,
    );
    expect(new Set(receiver.contentTypes)).toEqual(new Set([JSON_TYPE]));
    expect(receiver.errors).toEqual([]);
    await closeClients();
    expect((await serve.stop()).code).toBe(0);
    expect(serve.stderr()).toMatch(/"protocol":"http\/json".*"msg":"tracing on"/);
  });
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("an unreachable OTLP endpoint", () => {
  const prefix = testPrefix();
  let pipelineFile: string;
  let redis: Redis;

  beforeAll(async () => {
    pipelineFile = await writePipeline(
      fastPipelineWith({ retries: { delivery: { attempts: 4, delayMs: 200, jitter: 0 } } }),
    );
    redis = await connect();
  });
  afterEach(closeClients);
  afterAll(async () => {
    killAll();
    await deleteByPrefix(redis, prefix);
    await redis.quit();
    await rm(dirname(pipelineFile), { recursive: true, force: true });
  });

  it("stops no delivery, warns once, and lets the process stop in time", async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const serve = await startServe({ ...cliEnv(prefix, pipelineFile), ...tracingEnv(endpoint) });
    const carol = await joinAs(serve.url, "carol", "legacy");
    const dave = await joinAs(serve.url, "dave", "legacy");
    await sendFetchAck(carol, dave, 1);
    const warning = "trace export failed";
    await vi.waitFor(() => expect(serve.stderr()).toContain(warning), { timeout: 15_000 });
    await sendFetchAck(carol, dave, 2);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    await closeClients();
    const started = Date.now();
    const { code } = await serve.stop();
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(8000);
    expect(serve.stderr().split(warning).length - 1).toBe(1);
  });
});
