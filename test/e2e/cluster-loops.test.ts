import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startCluster, type LocalCluster } from "../../src/redis/spawn-cluster.js";
import { cliEnv, killAll, run } from "../support/cli.js";
import {
  call,
  callRaw,
  closeClients,
  joinAs,
  startServe,
  textOf,
  writePipeline,
  type Fetched,
} from "../support/mcp.js";
import { testPrefix } from "../support/redis.js";

/**
 * The loop breaker on a real Redis Cluster (three masters, three partitions): a pair's and
 * a thread's counters live in slots of their own, each script in one slot.
 */
let cluster: LocalCluster;

beforeAll(async () => {
  cluster = await startCluster();
}, 60_000);

afterEach(async () => {
  await closeClients();
  killAll();
});

afterAll(async () => {
  await cluster?.stop();
});

describe("the loop breaker on a Redis Cluster", () => {
  it("stops a ping-pong at the budget, tells both, and is lifted by the CLI", async () => {
    const env = {
      ...cliEnv(
        testPrefix(),
        await writePipeline(`version: 1\npartitions: 3\nloops:\n  pair: { messages: 6 }\n`),
      ),
    };
    delete env.REDIS_URL;
    env.REDIS_CLUSTER_NODES = cluster.nodes.slice(0, 2).join(",");
    const serve = await startServe(env);
    const alice = await joinAs(serve.url, "alice", "legacy");
    const bob = await joinAs(serve.url, "bob", "modern");
    const outcomes: string[] = [];
    for (let i = 0; i < 8; i++) {
      const [from, to] = i % 2 === 0 ? [alice, bob] : [bob, alice];
      const result = await callRaw(from.client, "send_message", { to: [to.name], body: i });
      outcomes.push(result.isError === true ? textOf(result).split(":")[0]! : "sent");
    }
    expect(outcomes).toEqual([...Array(6).fill("sent"), "LOOP_DETECTED", "LOOP_DETECTED"]);
    for (const agent of [alice, bob]) {
      let found = false;
      for (let tries = 0; tries < 20 && !found; tries++) {
        const { messages } = await call<Fetched>(agent.client, "fetch_inbox", { wait_seconds: 2 });
        found = messages.some((m) => m.type === "switchboard.notice");
      }
      expect(found, agent.name).toBe(true);
    }
    const listed = await run(["loops", "list", "--json"], env);
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ breaker: "pair:alice,bob" }),
    ]);
    expect((await run(["loops", "clear", "--pair", "alice,bob"], env)).stdout).toContain(
      "pair:alice,bob",
    );
    expect(
      (await callRaw(alice.client, "send_message", { to: ["bob"], body: "ok" })).isError,
    ).toBeUndefined();
    await serve.stop();
  }, 120_000);
});
