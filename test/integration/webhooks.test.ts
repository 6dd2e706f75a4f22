import { lookup } from "node:dns/promises";
import { hostname } from "node:os";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DeadLetters } from "../../src/dlq/store.js";
import { ALERTS_TOPIC } from "../../src/failures/escalate.js";
import { readMessageRecord } from "../../src/history/record.js";
import { Breakers } from "../../src/webhook/breaker.js";
import { isPublicAddress } from "../../src/webhook/address.js";
import { postWebhook } from "../../src/webhook/post.js";
import { WEBHOOK_QUEUE } from "../../src/retry/queues.js";
import { verifyWebhook } from "../../src/webhook/signature.js";
import { cliEnv, run as runCli } from "../support/cli.js";
import { failAppendOnce, isDelivered } from "../support/faults.js";
import { eventually, fastPipeline, Harness } from "../support/harness.js";
import { OwnRedis } from "../support/own-redis.js";
import { WebhookServer, type Answer } from "../support/webhook-server.js";

let h: Harness;
let server: WebhookServer;
let ownRedis: OwnRedis | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await h.close();
  await server.close();
  await ownRedis?.stop();
  ownRedis = undefined;
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A pipeline whose delivery retries are quick and exact (no jitter), and whose claims wait
 * long enough that a first try has its full budget (half of claimIdleMs, at most 1 s): a
 * try abandoned on a busy machine would be made twice.
 */
function retrying(attempts: number, delayMs: number, extra: Record<string, unknown> = {}) {
  return fastPipeline({
    defaults: { claimIdleMs: 2000 },
    retries: { delivery: { attempts, delayMs, maxDelayMs: 60_000, jitter: 0 } },
    webhooks: { timeoutMs: 1000, breaker: { failureThreshold: 100, cooldownMs: 1000 } },
    ...extra,
  });
}

/** Starts the receiver and a Switchboard where agent `hook` takes its mail by webhook. */
async function setUp(pipeline: ReturnType<typeof fastPipeline>, respond: (n: number) => Answer) {
  server = await WebhookServer.start((_, n) => respond(n));
  h = new Harness(pipeline);
  await h.agents("alice");
  const { webhook_secret } = await h.registry.register({ name: "hook", webhook_url: server.url });
  await h.worker();
  return webhook_secret!;
}

/** Field/value pairs of the dead letters, as objects. */
async function deadLetters(): Promise<Record<string, string>[]> {
  const entries = await h.redis.xrange(h.stream("dead"), "-", "+");
  return entries.map(([, fields]) =>
    Object.fromEntries(fields.flatMap((v, i) => (i % 2 === 0 ? [[v, fields[i + 1]!]] : []))),
  );
}

async function recipientStatus(id: string, agent = "hook") {
  return (await readMessageRecord(h.redis, h.keys, id))?.recipients[agent];
}

describe("webhook push delivery", () => {
  it("fails three times then succeeds: delivered once, signed, after the configured backoff", async () => {
    const secret = await setUp(retrying(8, 200), (n) => ({ status: n < 3 ? 500 : 200 }));
    const id = await h.send({ from: "alice", to: ["hook"], body: { hello: "webhook" } });
    const delivered = await eventually(async () => {
      const status = await recipientStatus(id);
      return status?.status === "delivered" && status;
    });
    expect(delivered).toMatchObject({ via: "webhook" });
    expect(delivered.history.map((s) => s.status)).toEqual(["queued", "retrying", "delivered"]);
    await sleep(500);
    const requests = server.for(id);
    expect(requests.map((r) => r.headers["x-switchboard-attempt"])).toEqual(["1", "2", "3", "4"]);
    // Exponential backoff from 200 ms without jitter: 200, 400, 800 ms between tries.
    const gaps = requests.slice(1).map((r, i) => r.at - requests[i]!.at);
    [200, 400, 800].forEach((expected, i) => {
      expect(gaps[i]).toBeGreaterThanOrEqual(expected - 10);
      expect(gaps[i]).toBeLessThan(expected + 700);
    });
    const last = requests[3]!;
    expect(verifyWebhook({ secret, body: last.body, headers: last.headers })).toMatchObject({
      ok: true,
    });
    expect(
      verifyWebhook({ secret: "whsec_wrong", body: last.body, headers: last.headers }),
    ).toEqual({
      ok: false,
      reason: "bad_signature",
    });
    expect(JSON.parse(last.body)).toMatchObject({ id, from: "alice", body: { hello: "webhook" } });
    expect(await h.inbox("hook")).toEqual([]); // pushed, not queued
  });

  it("shows where a retry stands: attempt n of N and when the next one goes", async () => {
    await setUp(retrying(5, 3000), () => ({ status: 503 }));
    const id = await h.send({ from: "alice", to: ["hook"], body: "later" });
    const status = await eventually(async () => {
      const s = await recipientStatus(id);
      return s?.status === "retrying" && s;
    });
    expect(status.retry).toMatchObject({ attempt: 2, max_attempts: 5 });
    expect(Date.parse(status.retry!.next_at)).toBeGreaterThan(Date.now());
    expect(status.summary).toMatch(
      /^retrying, attempt 2 of 5, next at .*; last error WEBHOOK_SERVER_ERROR$/,
    );
  });

  it("always failing: dead-lettered after the configured attempts, and the sender is told", async () => {
    await setUp(retrying(3, 100), () => ({ status: 503 }));
    await h.agents("ops");
    await h.registry.subscribe("ops", ALERTS_TOPIC);
    const id = await h.send({ from: "alice", to: ["hook"], body: "doomed" });
    await eventually(async () => (await recipientStatus(id))?.status === "dead_lettered");
    expect(server.for(id)).toHaveLength(3);
    const [dead] = await deadLetters();
    expect(dead).toMatchObject({
      mid: id,
      rcpt: "hook",
      stage: "deliver",
      code: "WEBHOOK_SERVER_ERROR",
      cat: "delivery",
      n: "3",
    });
    expect(JSON.parse(dead!.hist!)).toHaveLength(3);
    expect(Number(dead!.last)).toBeGreaterThanOrEqual(Number(dead!.first));
    expect(dead!.env).toBeDefined(); // the dead letter holds the envelope
    // alice hears of it in her inbox.
    const notices = await eventually(async () => {
      const entries = await h.redis.xrange(h.keys.inbox("alice"), "-", "+");
      return entries.length > 0 && entries;
    });
    expect(notices).toHaveLength(1);
    // The error history has every failed attempt.
    await eventually(async () => (await h.redis.xlen(h.keys.errors())) >= 3);
    // Whoever watches the alerts topic hears of the dead letter.
    const [alert] = await eventually(async () => {
      const ids = await h.inbox("ops");
      return ids.length > 0 && ids;
    });
    const record = await readMessageRecord(h.redis, h.keys, alert!);
    expect(record?.envelope).toMatchObject({
      from: "switchboard",
      type: "switchboard.alert",
      body: { kind: "dead_letter", stage: "deliver", message_id: id, sender: "alice" },
    });
  });

  it("a dead letter whose write fails on the last attempt is written later, once", async () => {
    await setUp(retrying(3, 100), () => ({ status: 503 }));
    const fault = failAppendOnce((outcome) => outcome.kind === "dead_letter");
    const id = await h.send({ from: "alice", to: ["hook"], body: "doomed" });
    await eventually(async () => (await recipientStatus(id))?.status === "dead_lettered");
    expect(fault.failed()).toBe(true);
    const dead = await deadLetters();
    expect(dead.filter((d) => d.mid === id)).toHaveLength(1);
    expect(await h.failedJobs(WEBHOOK_QUEUE)).toEqual([
      expect.stringMatching(/^WEBHOOK_SERVER_ERROR: /),
    ]);
  });

  it("a success whose write fails on the last attempt is written later, once", async () => {
    await setUp(retrying(2, 100), (n) => ({ status: n < 1 ? 500 : 200 }));
    const fault = failAppendOnce(isDelivered);
    const id = await h.send({ from: "alice", to: ["hook"], body: "at last" });
    await eventually(async () => (await recipientStatus(id))?.status === "delivered");
    expect(fault.failed()).toBe(true);
    expect(server.deliveries(id)).toBe(1);
    expect(await h.failedJobs(WEBHOOK_QUEUE)).toEqual([]);
  });

  it("a 400 is dead-lettered at once, without retries", async () => {
    await setUp(retrying(5, 100), () => ({ status: 400 }));
    const id = await h.send({ from: "alice", to: ["hook"], body: "refused" });
    await eventually(async () => (await recipientStatus(id))?.status === "dead_lettered");
    await sleep(400);
    expect(server.for(id)).toHaveLength(1);
    expect((await deadLetters())[0]).toMatchObject({ mid: id, code: "WEBHOOK_REJECTED", n: "1" });
  });

  it("dlq replay after the endpoint is fixed: delivered once, and a second replay does nothing", async () => {
    let fixed = false;
    await setUp(retrying(2, 50), () => ({ status: fixed ? 200 : 503 }));
    const id = await h.send({ from: "alice", to: ["hook"], body: "second chance" });
    await eventually(async () => (await recipientStatus(id))?.status === "dead_lettered");
    const store = new DeadLetters(h.redis, h.keys, h.pipeline);
    const { dead_letters } = await store.list({});
    expect(dead_letters).toHaveLength(1);
    fixed = true;
    const [replayed] = await store.replay([dead_letters[0]!.id]);
    expect(replayed).toMatchObject({ result: "replayed" });
    const delivered = await eventually(async () => {
      const s = await recipientStatus(id);
      return s?.status === "delivered" && s;
    });
    expect(delivered.history.map((e) => e.status)).toContain("dead_lettered");
    const [again] = await store.replay([dead_letters[0]!.id]);
    expect(again).toMatchObject({ result: "already_replayed", entry_id: replayed!.entry_id });
    await sleep(500);
    expect(server.deliveries(id)).toBe(1);
    expect(await store.depth()).toBe(0);
  });

  it("honours a 429's Retry-After", async () => {
    await setUp(retrying(5, 50), (n) =>
      n === 0 ? { status: 429, headers: { "retry-after": "1" } } : { status: 200 },
    );
    const id = await h.send({ from: "alice", to: ["hook"], body: "slow down" });
    await eventually(async () => (await recipientStatus(id))?.status === "delivered");
    const [first, second] = server.for(id);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(990);
  });

  it("opens an endpoint's breaker after repeated failures, holds messages back, then closes on a good probe", async () => {
    const pipeline = retrying(20, 50, {
      webhooks: { timeoutMs: 1000, breaker: { failureThreshold: 2, cooldownMs: 1500 } },
    });
    let healthy = false;
    await setUp(pipeline, () => ({ status: healthy ? 200 : 502 }));
    const breakers = new Breakers(h.redis, h.keys, h.pipeline);
    const id = await h.send({ from: "alice", to: ["hook"], body: "patience" });
    await eventually(async () => (await breakers.list())[0]?.state === "open");
    const openedWith = server.for(id).length;
    expect(openedWith).toBe(2);
    const held = await eventually(async () => {
      const s = await recipientStatus(id);
      return s?.retry?.breaker === "open" && s;
    });
    expect(held.status).toBe("retrying");
    healthy = true;
    await sleep(700); // well inside the cool-down: nothing is called
    expect(server.for(id)).toHaveLength(openedWith);
    await eventually(async () => (await recipientStatus(id))?.status === "delivered");
    expect(server.for(id)).toHaveLength(openedWith + 1); // one probe, and it went through
    expect((await breakers.list())[0]).toMatchObject({ state: "closed", failures: 0 });
  });
});

describe("circuit breakers per endpoint", () => {
  it("a broken endpoint's open breaker does not hold back a healthy neighbour on the same host", async () => {
    const pipeline = retrying(20, 100, {
      webhooks: { timeoutMs: 1000, breaker: { failureThreshold: 5, cooldownMs: 60_000 } },
    });
    server = await WebhookServer.start((request, n) => ({
      status: request.path.startsWith("/broken") || n < 3 ? 503 : 204,
    }));
    h = new Harness(pipeline);
    await h.agents("alice");
    const origin = new URL(server.url).origin;
    // A query string may hold a secret: it keys the breaker, and is never shown.
    await h.registry.register({ name: "broken", webhook_url: `${origin}/broken?token=s3cret` });
    await h.registry.register({ name: "flaky", webhook_url: `${origin}/flaky` });
    await h.worker();
    const breakers = new Breakers(h.redis, h.keys, h.pipeline);
    const stateOf = async (path: string) =>
      (await breakers.list()).find((b) => b.endpoint.startsWith(`${origin}${path}`))?.state;

    for (let i = 0; i < 5; i++) await h.send({ from: "alice", to: ["broken"], body: i });
    await eventually(async () => (await stateOf("/broken")) === "open");
    // Its neighbour fails three times (under the threshold of its own breaker), then recovers.
    const id = await h.send({ from: "alice", to: ["flaky"], body: "still welcome" });
    await eventually(async () => (await recipientStatus(id, "flaky"))?.status === "delivered");
    expect(server.for(id).map((r) => r.status)).toEqual([503, 503, 503, 204]);
    expect(await stateOf("/broken")).toBe("open");
    expect(await stateOf("/flaky")).toBe("closed");

    const listed = await breakers.list();
    expect(listed.map((b) => b.endpoint)).toEqual([`${origin}/broken?…`, `${origin}/flaky`]);
    const status = await runCli(["status", "--json"], cliEnv(h.keys.prefix));
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(`"endpoint": "${origin}/broken?…"`);
    const history = JSON.stringify(await h.redis.xrange(h.keys.errors(), "-", "+"));
    for (const shown of [status.stdout, history]) expect(shown).not.toContain("s3cret");
  }, 60_000);
});

describe("a retry backlog across a Redis crash", () => {
  it("loses nothing when Redis is killed and restarted on its AOF in the middle of a retry backlog", async () => {
    const redis = (ownRedis = await OwnRedis.start());
    let healthy = false;
    server = await WebhookServer.start(() => ({ status: healthy ? 200 : 503 }));
    h = new Harness(retrying(50, 300), redis.url);
    await h.agents("alice");
    await h.registry.register({ name: "hook", webhook_url: server.url });
    await h.worker();
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push(await h.send({ from: "alice", to: ["hook"], body: i }));
    // Every message has failed at least once: they all wait in the retry queue.
    await eventually(() => Promise.resolve(ids.every((id) => server.for(id).length > 0)), 20_000);
    await redis.kill();
    await sleep(300);
    await redis.restart();
    healthy = true;
    await eventually(() => Promise.resolve(ids.every((id) => server.deliveries(id) > 0)), 30_000);
    await sleep(1000);
    // Delivered once each: one request per message was answered 2xx, and persist knows.
    expect(ids.filter((id) => server.deliveries(id) !== 1)).toEqual([]);
    await eventually(async () => {
      const statuses = await Promise.all(ids.map((id) => recipientStatus(id)));
      return statuses.every((s) => s?.status === "delivered");
    });
  }, 120_000);
});

describe("webhook URLs at registration", () => {
  it.each([
    ["ftp://bot.example.com/hook", true, /http:\/\/ or https:\/\//],
    ["not a url", true, /http:\/\/ or https:\/\//],
    ["http://127.0.0.1:9/hook", false, /allowPrivateNetworks: false/],
    ["https://[::1]/hook", false, /allowPrivateNetworks: false/],
  ])("refuses %s (private networks allowed: %s), naming the field", async (url, allow, message) => {
    server = await WebhookServer.start();
    h = new Harness(fastPipeline({ webhooks: { allowPrivateNetworks: allow } }));
    const registering = h.registry.register({ name: "hook", webhook_url: url });
    await expect(registering).rejects.toMatchObject({
      code: "INVALID_INPUT",
      field: "webhook_url",
    });
    await expect(registering).rejects.toThrow(message);
  });
});

describe("webhooks to private addresses, checked where the connection is made", () => {
  /** This host's name, if it resolves to a private address (as /etc/hosts usually has it). */
  async function privateName(): Promise<string | undefined> {
    const name = hostname();
    const addresses = await lookup(name, { all: true }).catch(() => []);
    if (addresses.some((a) => !isPublicAddress(a.address))) return name;
    console.warn(`skipped: this host's name (${name}) does not resolve to a private address`);
    return undefined;
  }

  it("the POST itself refuses: the address is judged in the connect step, not before", async () => {
    server = await WebhookServer.start();
    h = new Harness(fastPipeline());
    const name = await privateName();
    if (name === undefined) return;
    const post = (allowPrivateNetworks: boolean) =>
      postWebhook({
        url: server.url.replace("127.0.0.1", name),
        secret: "whsec_test",
        body: "{}",
        messageId: "m1",
        attempt: 1,
        timeoutMs: 2000,
        allowPrivateNetworks,
      });
    expect(await post(false)).toMatchObject({ ok: false, error: { code: "WEBHOOK_FORBIDDEN" } });
    expect(server.received).toEqual([]);
    expect(await post(true)).toMatchObject({ ok: true, status: 200 });
    expect(server.received).toHaveLength(1);
  });

  it("a name that resolves to loopback passes registration, and no request reaches it", async () => {
    server = await WebhookServer.start();
    const name = await privateName();
    if (name === undefined) return;
    h = new Harness(retrying(3, 100, { webhooks: { allowPrivateNetworks: false } }));
    await h.agents("alice");
    const url = server.url.replace("127.0.0.1", name);
    await h.registry.register({ name: "hook", webhook_url: url });
    await h.worker();
    const id = await h.send({ from: "alice", to: ["hook"], body: "to the metadata service?" });
    const status = await eventually(async () => {
      const s = await recipientStatus(id);
      return s?.status === "dead_lettered" && s;
    });
    expect(status.error).toMatchObject({ code: "WEBHOOK_FORBIDDEN" });
    expect(status.error?.message).toMatch(/resolves to .*allowPrivateNetworks: false/);
    expect(server.received).toEqual([]);
  });
});
