import { setTimeout as delay } from "node:timers/promises";
import { Cluster } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { clusterTarget } from "../support/cluster.js";
import { readNodes } from "../../src/health/nodes.js";
import { clusterReadiness } from "../../src/health/readiness.js";
import { readStatus } from "../../src/health/status.js";
import { readMessageRecord } from "../../src/history/record.js";
import { MailAnnouncements } from "../../src/inbox/mail.js";
import type { RedisTarget } from "../../src/redis/target.js";
import { verifyWebhook } from "../../src/webhook/signature.js";
import { cliEnv, killAll, run, start } from "../support/cli.js";
import { startCluster, type LocalCluster } from "../../src/redis/spawn-cluster.js";
import { eventually, fastPipeline } from "../support/harness.js";
import {
  call,
  closeClients,
  connectLegacy,
  connectStdio,
  startServe,
  writePipeline,
  type Fetched,
} from "../support/mcp.js";
import { testPrefix } from "../support/redis.js";
import { ServiceHarness } from "../support/service.js";
import { withDataDir } from "../support/stdio.js";
import { WebhookServer } from "../support/webhook-server.js";

/**
 * Switchboard on a real Redis Cluster (three masters, three replicas) with three
 * partitions: the stages, the service and `switchboard serve` itself. One cluster for the
 * file; each test has its own prefix on it.
 */
let cluster: LocalCluster;
let target: RedisTarget;
const harnesses: ServiceHarness[] = [];

beforeAll(async () => {
  cluster = await startCluster();
  target = clusterTarget(cluster.masters);
}, 60_000);

afterEach(async () => {
  killAll();
  await closeClients();
  await Promise.all(harnesses.splice(0).map((h) => h.close()));
});

afterAll(async () => {
  await cluster?.stop();
});

/** A harness on the cluster with three partitions, and its workers. */
function onCluster(document: Record<string, unknown> = {}): ServiceHarness {
  const h = new ServiceHarness(fastPipeline({ partitions: 3, ...document }), target);
  harnesses.push(h);
  return h;
}

/** Fetches `agents`' inboxes until `count` messages came between them; who got what. */
async function received(h: ServiceHarness, agents: string[], count: number) {
  const got: Record<string, unknown[]> = Object.fromEntries(agents.map((a) => [a, []]));
  await eventually(async () => {
    for (const agent of agents) got[agent]!.push(...(await h.fetch(agent)).map((m) => m.body));
    return Object.values(got).flat().length >= count;
  });
  await delay(200); // anything more would show up now
  for (const agent of agents) got[agent]!.push(...(await h.fetch(agent)).map((m) => m.body));
  return got;
}

describe("Switchboard on a Redis Cluster", () => {
  it("spreads its keys over every master", async () => {
    const h = onCluster();
    expect(h.redis).toBeInstanceOf(Cluster);
    await h.register("alice", "bob", "carol", "dave", "erin");
    await h.worker();
    for (let i = 0; i < 6; i++) await h.sendAs("alice", { to: ["bob"], body: i });
    await received(h, ["bob"], 6);
    for (const master of (h.redis as Cluster).nodes("master")) {
      const [, keys] = await master.scan("0", "MATCH", `${h.keys.prefix}:*`, "COUNT", 1000);
      expect(keys.length, `${master.options.host}:${master.options.port}`).toBeGreaterThan(0);
    }
  });

  it("delivers direct messages and keeps a thread of replies in order", async () => {
    const h = onCluster();
    await h.register("alice", "bob");
    await h.worker();
    const first = await h.threadOfThree();
    const fetched = await h.fetch("bob");
    expect(fetched.map((m) => m.body)).toEqual(["step 0", "step 1"]);
    await h.service.ack("bob", [fetched[0]!.message_id, fetched[1]!.message_id]);
    expect((await h.service.digest("bob")).unread).toBe(0);
    // persist records the ack when it gets to the status report: wait for it.
    await eventually(async () => {
      const record = await readMessageRecord(h.redis, h.keys, first.message_id);
      return record?.recipients.bob?.status === "acked";
    });
  });

  it("routes broadcasts, capability any and all, and topics", async () => {
    const h = onCluster();
    await h.register("alice", "bob:review", "carol:review@2", "dave:testing");
    await h.worker();
    await h.sendAs("alice", { broadcast: true, body: "all" });
    expect(await received(h, ["alice", "bob", "carol", "dave"], 3)).toEqual({
      alice: [],
      bob: ["all"],
      carol: ["all"],
      dave: ["all"],
    });
    await h.sendAs("alice", { capability: "review", mode: "all", body: "reviewers" });
    expect(await received(h, ["bob", "carol", "dave"], 2)).toEqual({
      bob: ["reviewers"],
      carol: ["reviewers"],
      dave: [],
    });
    await h.sendAs("alice", { capability: "review", body: "one of you" });
    const any = await received(h, ["alice", "bob", "carol", "dave"], 1);
    expect(Object.values(any).flat()).toEqual(["one of you"]);
    expect([...any.bob!, ...any.carol!]).toEqual(["one of you"]);
    await h.service.subscribe("dave", "builds.main");
    await h.sendAs("alice", { topic: "builds.main", body: "green" });
    expect(await received(h, ["bob", "carol", "dave"], 1)).toEqual({
      bob: [],
      carol: [],
      dave: ["green"],
    });
    expect((await h.service.listAgents("alice", {})).map((a) => a.name)).toEqual([
      "alice",
      "bob",
      "carol",
      "dave",
    ]);
  });

  it("announces new mail to a subscriber on the cluster", async () => {
    const h = onCluster();
    await h.register("alice", "bob");
    await h.worker();
    const mail = new MailAnnouncements(target, h.keys);
    const heard: string[] = [];
    try {
      mail.listen((agent) => heard.push(agent));
      await delay(500); // the subscription is made
      await h.sendAs("alice", { to: ["bob"], body: "ping" });
      await eventually(() => Promise.resolve(heard.includes("bob")));
      // A long poll is woken by the announcement, well before its wait ends.
      const started = Date.now();
      const waiting = h.service.fetch("alice", { limit: 10, wait_seconds: 20 });
      await delay(300);
      await h.sendAs("bob", { to: ["alice"], body: "pong" });
      expect((await waiting).map((m) => m.body)).toEqual(["pong"]);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      mail.close();
    }
  });

  it("reads status and readiness across the partitions", async () => {
    const h = onCluster();
    await h.register("alice", "bob");
    await h.worker();
    for (let i = 0; i < 5; i++) await h.sendAs("alice", { to: ["bob"], body: i });
    await received(h, ["bob"], 5);
    const status = await readStatus(h);
    expect(status.partitions.map((p) => p.partition)).toEqual([0, 1, 2]);
    expect(status.stages.validate.length).toBe(5);
    await eventually(async () => (await clusterReadiness(h)).ready);
    // Per master: its slots, the partitions among them, memory and replicas.
    const nodes = (await readNodes(h.redis, h.keys, 3))!;
    expect(nodes.map((n) => n.address).sort()).toEqual([...cluster.masters].sort());
    expect(nodes.flatMap((n) => n.partitions).sort()).toEqual([0, 1, 2]);
    const slots = nodes.flatMap((n) => n.slots).map((r) => r.split("-").map(Number));
    expect(slots.reduce((n, [start, end = start]) => n + end! - start! + 1, 0)).toBe(16384);
    for (const node of nodes) {
      expect(node.replicas, node.address).toBe(1);
      expect(node.used_memory_bytes, node.address).toBeGreaterThan(0);
    }
  });

  it("retries a message for a full inbox, dead-letters it when attempts are spent, and replays it", async () => {
    const h = onCluster({
      inbox: { quota: 1, overflow: "defer" },
      retries: { quota: { attempts: 3, delayMs: 100, maxDelayMs: 100, jitter: 0 } },
    });
    await h.register("alice", "bob");
    await h.worker();
    const status = async (id: string) =>
      (await readMessageRecord(h.redis, h.keys, id))?.recipients.bob?.status;
    const first = await h.sendAs("alice", { to: ["bob"], body: 1 });
    await eventually(async () => (await status(first.message_id)) === "delivered");
    const second = await h.sendAs("alice", { to: ["bob"], body: 2 });
    await eventually(async () => (await status(second.message_id)) === "retrying");
    await eventually(async () => (await status(second.message_id)) === "dead_lettered");
    const { dead_letters: letters } = await h.service.listDeadLetters({}, { limit: 10 });
    expect(letters.map((d) => [d.message_id, d.code])).toEqual([[second.message_id, "INBOX_FULL"]]);
    const [fetched] = await h.fetch("bob");
    await h.service.ack("bob", [fetched!.message_id]);
    const replayed = await h.service.replayDeadLetters([letters[0]!.id]);
    expect(replayed).toMatchObject([{ id: letters[0]!.id, result: "replayed" }]);
    await eventually(async () => (await status(second.message_id)) === "delivered");
    expect((await h.fetch("bob")).map((m) => m.body)).toEqual([2]);
  }, 30_000);

  it("returns a reply to a sender who awaits it", async () => {
    const h = onCluster();
    await h.register("alice", "bob");
    await h.worker();
    const asking = h.sendAs("alice", { to: ["bob"], body: "ready?", await_reply_seconds: 10 });
    const [question] = await eventually(async () => {
      const got = await h.fetch("bob");
      return got.length > 0 && got;
    });
    await h.sendAs("bob", { to: ["alice"], reply_to: question!.message_id, body: "yes" });
    const answered = await asking;
    expect(answered.reply).toMatchObject({ from: "bob", body: "yes" });
  });

  it("pushes mail to a webhook, signed, after a failed try", async () => {
    const server = await WebhookServer.start((_, n) => ({ status: n === 0 ? 503 : 200 }));
    try {
      const h = onCluster({
        retries: { delivery: { attempts: 4, delayMs: 100, maxDelayMs: 1000, jitter: 0 } },
      });
      await h.register("alice");
      const { webhook_secret } = await h.service.register({
        name: "hook",
        webhook_url: server.url,
      });
      await h.worker();
      const sent = await h.sendAs("alice", { to: ["hook"], body: { on: "cluster" } });
      await eventually(async () => {
        const record = await readMessageRecord(h.redis, h.keys, sent.message_id);
        return record?.recipients.hook?.status === "delivered";
      });
      const requests = server.for(sent.message_id);
      expect(requests.map((r) => r.status)).toEqual([503, 200]);
      const last = requests[1]!;
      expect(
        verifyWebhook({ secret: webhook_secret!, body: last.body, headers: last.headers }),
      ).toMatchObject({ ok: true });
    } finally {
      await server.close();
    }
  });

  it("runs `switchboard serve` and the CLI with REDIS_CLUSTER_NODES", async () => {
    const env = { ...cliEnv(testPrefix(), await writePipeline()) };
    delete env.REDIS_URL;
    env.REDIS_CLUSTER_NODES = cluster.nodes.slice(0, 2).join(",");
    const serve = await startServe(env);
    expect(serve.stderr()).toContain("redis: using the Redis Cluster of");
    const alice = await connectLegacy(serve.url);
    const bob = await connectLegacy(serve.url);
    await call(alice, "register_agent", { name: "alice" });
    await call(bob, "register_agent", { name: "bob" });
    const sent = await call<{ message_id: string }>(alice, "send_message", {
      to: ["bob"],
      body: "over the cluster",
    });
    const fetched = await call<{ messages: { body: unknown }[] }>(bob, "fetch_inbox", {
      wait_seconds: 10,
    });
    expect(fetched.messages.map((m) => m.body)).toEqual(["over the cluster"]);
    await call(bob, "ack_messages", { message_ids: [sent.message_id] });
    const status = await run(["status", "--json"], env);
    expect(status.stderr).toBe("");
    expect(status.code).toBe(0);
    const report = JSON.parse(status.stdout) as {
      partitions: { partition: number }[];
      nodes: { address: string; partitions: number[] }[];
    };
    expect(report).toMatchObject({ stages: { validate: { length: 1 } } });
    expect(report.nodes.map((n) => n.address).sort()).toEqual([...cluster.masters].sort());
    expect(report.nodes.flatMap((n) => n.partitions).sort()).toEqual(
      report.partitions.map((p) => p.partition),
    );
    const table = await run(["status"], env);
    expect(table.stdout).toMatch(/^master +slots +partitions +memory +replicas$/m);
    const stopped = await serve.stop();
    expect(stopped.code).toBe(0);
  }, 60_000);

  it("serves agents over stdio with REDIS_CLUSTER_NODES, the stages in a `switchboard worker`", async () => {
    const env = await withDataDir(cliEnv(testPrefix(), await writePipeline()));
    delete env.REDIS_URL;
    env.REDIS_CLUSTER_NODES = cluster.nodes.slice(1, 3).join(",");
    const worker = start(["worker"], env);
    const workerExit = new Promise<number | null>((resolve) => worker.once("exit", resolve));
    const args = ["--no-workers"];
    const sam = await connectStdio({ env, agent: "sam", args: [...args, "--capabilities", "ops"] });
    const uma = await connectStdio({ env, agent: "uma", args });
    expect(sam.stderr()).toContain("redis: using the Redis Cluster of");
    expect(sam.stderr()).toMatch(/registered agent 'sam'; its token is kept in/);
    const updates: string[] = [];
    const umaClient = uma.client as Awaited<ReturnType<typeof connectLegacy>>;
    umaClient.setNotificationHandler("notifications/resources/updated", (n) => {
      updates.push(n.params.uri);
    });
    expect(await call(uma.client, "heartbeat")).toMatchObject({
      name: "uma",
      inbox: { unread: 0 },
    });
    await umaClient.subscribeResource({ uri: "switchboard://inbox/uma" });

    // Threads and inboxes in other slots than the stage streams: a reply and a follow-up.
    const first = await call<{ message_id: string; thread_id: string }>(
      sam.client,
      "send_message",
      {
        to: ["uma"],
        body: "over stdio, over the cluster",
      },
    );
    await eventually(() => Promise.resolve(updates.includes("switchboard://inbox/uma")));
    // The digest on any result tells her too.
    expect(await call(uma.client, "heartbeat")).toMatchObject({ inbox: { unread: 1 } });
    const got = await call<Fetched>(uma.client, "fetch_inbox", { wait_seconds: 10 });
    expect(got.messages).toEqual([
      expect.objectContaining({ message_id: first.message_id, from: "sam", seq: 1 }),
    ]);
    await call(uma.client, "ack_messages", { message_ids: [first.message_id] });
    await call(uma.client, "send_message", { to: ["sam"], reply_to: first.message_id, body: "ok" });
    const reply = await call<Fetched>(sam.client, "fetch_inbox", { wait_seconds: 10 });
    expect(reply.messages).toEqual([
      expect.objectContaining({ from: "uma", body: "ok", thread_id: first.thread_id, seq: 2 }),
    ]);
    const { agents } = await call<{ agents: { name: string }[] }>(sam.client, "list_agents", {
      capability: "ops",
    });
    expect(agents.map((a) => a.name)).toEqual(["sam"]);

    await closeClients();
    worker.kill("SIGTERM");
    expect(await workerExit).toBe(0);
  }, 60_000);
});
