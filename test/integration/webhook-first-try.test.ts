import type { ChildProcess } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { readMessageRecord } from "../../src/history/record.js";
import { WEBHOOK_QUEUE } from "../../src/retry/queues.js";
import { firstTryBudgetMs } from "../../src/stages/deliver/first-try.js";
import { Breakers } from "../../src/webhook/breaker.js";
import { cliEnv, killAll, start } from "../support/cli.js";
import { eventually, fastPipeline, Harness } from "../support/harness.js";
import { WebhookServer, type Answer } from "../support/webhook-server.js";

let h: Harness;
let server: WebhookServer;
afterEach(async () => {
  killAll();
  await h.close();
  await server.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const budget = () => firstTryBudgetMs(h.pipeline, h.pipeline.stages.deliver);

const pipeline = () =>
  fastPipeline({
    // Claims wait long enough for a first try's full budget (half of this).
    defaults: { claimIdleMs: 2000 },
    retries: { delivery: { attempts: 5, delayMs: 100, maxDelayMs: 1000, jitter: 0 } },
    webhooks: { timeoutMs: 2000 },
  });

async function setUp(respond: (n: number) => Answer) {
  server = await WebhookServer.start((_, n) => respond(n));
  h = new Harness(pipeline());
  await h.agents("alice");
  await h.registry.register({ name: "hook", webhook_url: server.url });
}

/** When each job of the webhook queue was added, epoch ms (its event stream keeps the adds). */
async function jobsAddedAt(): Promise<number[]> {
  const events = `${h.keys.queuePrefix()}:${WEBHOOK_QUEUE}:events`;
  const entries = await h.redis.xrange(events, "-", "+");
  return entries
    .filter(([, fields]) => fields[fields.indexOf("event") + 1] === "added")
    .map(([entryId]) => Number(entryId.split("-")[0]));
}

const jobsAdded = async () => (await jobsAddedAt()).length;

async function deliveredStatus(id: string) {
  const status = (await readMessageRecord(h.redis, h.keys, id))?.recipients.hook;
  return status?.status === "delivered" && status;
}

describe("a push's first try, made by deliver without a BullMQ job", () => {
  it("a delivered webhook message creates no job", async () => {
    await setUp(() => ({ status: 200 }));
    await h.worker();
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(await h.send({ from: "alice", to: ["hook"], body: i }));
    for (const id of ids) await eventually(() => deliveredStatus(id));
    expect(ids.map((id) => server.deliveries(id))).toEqual(ids.map(() => 1));
    expect(ids.map((id) => server.for(id)[0]!.headers["x-switchboard-attempt"])).toEqual(
      ids.map(() => "1"),
    );
    expect(await jobsAdded()).toBe(0);
    const keys = await h.redis.keys(`${h.keys.queuePrefix()}:${WEBHOOK_QUEUE}:*`);
    expect(keys.filter((k) => /:webhooks:(push-|wait|delayed|completed)/.test(k))).toEqual([]);
  });

  it("a receiver answering 500 once: exactly one job, delivered and recorded once", async () => {
    await setUp((n) => ({ status: n === 0 ? 500 : 200 }));
    await h.worker();
    const id = await h.send({ from: "alice", to: ["hook"], body: "again" });
    const delivered = await eventually(() => deliveredStatus(id));
    await sleep(500);
    const added = await jobsAddedAt();
    expect(added).toHaveLength(1);
    // The job came of the failure: the first POST went before it.
    expect(added[0]).toBeGreaterThanOrEqual(server.for(id)[0]!.at);
    expect(server.for(id).map((r) => [r.headers["x-switchboard-attempt"], r.status])).toEqual([
      ["1", 500],
      ["2", 200],
    ]);
    expect(delivered).toMatchObject({ via: "webhook" });
    const history = (await readMessageRecord(h.redis, h.keys, id))!.recipients.hook!.history;
    expect(history.map((s) => s.status)).toEqual(["queued", "retrying", "delivered"]);
    expect(await h.failedJobs(WEBHOOK_QUEUE)).toEqual([]);
  });

  it("a first try past its budget becomes a job, not counted against the endpoint", async () => {
    await setUp((n) => ({ status: 200, delayMs: n === 0 ? budget() + 300 : 0 }));
    await h.worker();
    const id = await h.send({ from: "alice", to: ["hook"], body: "slow" });
    await eventually(() => deliveredStatus(id), 10_000);
    expect(await jobsAdded()).toBe(1);
    // The job tries again at once, as its first attempt: the abandoned one is not counted.
    const attempts = server.for(id).map((r) => r.headers["x-switchboard-attempt"]);
    expect(attempts).toEqual(["1", "1"]);
    expect(await new Breakers(h.redis, h.keys, h.pipeline).list()).toEqual([]);
  });

  it("a worker killed in the middle of a first try: another delivers, recorded once", async () => {
    const worker: { child?: ChildProcess } = {};
    // The first POST kills the worker making it; its answer never reaches the worker.
    await setUp((n) => {
      if (n === 0) worker.child?.kill("SIGKILL");
      return { status: 200 };
    });
    const child = (worker.child = start(["worker"], cliEnv(h.keys.prefix)));
    const exited = new Promise((resolve) => child.once("exit", resolve));
    await new Promise<void>((resolve) => {
      child.stderr?.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("worker started")) resolve();
      });
    });
    const id = await h.send({ from: "alice", to: ["hook"], body: "survives" });
    await exited;
    expect(server.for(id)).toHaveLength(1);
    expect(await deliveredStatus(id)).toBe(false);
    // Its deliver entry is still pending: a worker of its own claims it and pushes again.
    await h.worker();
    await eventually(() => deliveredStatus(id), 15_000);
    await sleep(500);
    expect(server.for(id).length).toBeGreaterThanOrEqual(2); // at least once
    const history = (await readMessageRecord(h.redis, h.keys, id))!.recipients.hook!.history;
    expect(history.filter((s) => s.status === "delivered")).toHaveLength(1);
    expect(await jobsAdded()).toBe(0);
  }, 30_000);
});
