import { Cluster, type Redis } from "ioredis";
import slotOf from "cluster-key-slot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePipeline } from "../../src/config/pipeline.js";
import { awaitReplicas } from "../../src/redis/durability.js";
import { startCluster, type LocalCluster } from "../../src/redis/spawn-cluster.js";

/** On a Redis Cluster, WAIT goes to the master of each key written, on its connection. */
const { durability } = parsePipeline(
  { version: 1, durability: { mode: "replicated", timeoutMs: 200 } },
  "test",
);

let cluster: LocalCluster;
let client: Cluster;

beforeAll(async () => {
  cluster = await startCluster();
  const [host = "", port = ""] = cluster.nodes[0]!.split(":");
  client = new Cluster([{ host, port: Number(port) }], { scaleReads: "master" });
}, 60_000);

afterAll(async () => {
  client?.disconnect();
  await cluster?.stop();
});

/** The master connection of the cluster client that holds a key's slot. */
function masterOf(key: string): Redis {
  const address = client.slots[slotOf(key)]![0]!;
  return client.nodes("master").find((n) => `${n.options.host}:${n.options.port}` === address)!;
}

async function waitCalls(node: Redis): Promise<number> {
  const stats = await node.info("commandstats");
  return Number(/cmdstat_wait:calls=(\d+)/.exec(stats)?.[1] ?? 0);
}

describe("durability: replicated on a Redis Cluster", () => {
  it("waits on the master of each key written, once per hash tag", async () => {
    const keys = ["sb:{a}:x", "sb:{a}:y", "sb:{b}:x", "sb:{c}:x", "sb:{d}:x"];
    await Promise.all(keys.map((key) => client.set(key, "1")));
    const masters = client.nodes("master");
    const before = await Promise.all(masters.map(waitCalls));
    await awaitReplicas(client, durability, keys, "not confirmed");
    const after = await Promise.all(masters.map(waitCalls));
    const tags = ["{a}", "{b}", "{c}", "{d}"];
    const expected = masters.map((m) => tags.filter((tag) => masterOf(`sb:${tag}:x`) === m).length);
    expect(after.map((n, i) => n - before[i]!)).toEqual(expected);
  });

  it("refuses a write whose master lost its replica, however the others fare", async () => {
    const key = "sb:{e}:x";
    await client.set(key, "1");
    const master = masterOf(key);
    const replication = await master.info("replication");
    const replicaPort = Number(/slave0:ip=[^,]+,port=(\d+)/.exec(replication)?.[1]);
    await cluster.kill(replicaPort);
    await client.set(key, "2");
    await expect(
      awaitReplicas(client, durability, ["sb:{f}:x", key], "not confirmed"),
    ).rejects.toMatchObject({
      code: "NOT_REPLICATED",
      data: { replicas_required: 1, replicas_confirmed: 0 },
    });
  });
});
