import slotOf from "cluster-key-slot";
import { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clusterTarget, redirections } from "../support/cluster.js";
import { sendCommands } from "../../src/redis/batch.js";
import { readConsumers, readGroups } from "../../src/redis/info.js";
import { deleteConsumer, ensureGroup } from "../../src/streams/groups.js";
import { freePort } from "../../src/redis/spawn.js";
import { connectTarget } from "../../src/redis/target.js";
import { checkTarget } from "../../src/redis/target-check.js";
import { cliEnv, run } from "../support/cli.js";
import { startCluster, type LocalCluster } from "../../src/redis/spawn-cluster.js";
import { redisUrl } from "../support/redis.js";

const testRedis = () => new URL(redisUrl()).host;

let cluster: LocalCluster;

beforeAll(async () => {
  cluster = await startCluster();
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

describe("a Redis Cluster target", () => {
  it("connects to the cluster and reads back keys written to every master", async () => {
    const client = connectTarget(clusterTarget(cluster.nodes.slice(0, 1)), "command", "sb:test");
    expect(client).toBeInstanceOf(Cluster);
    try {
      const keys = Array.from({ length: 60 }, (_, i) => `ct:key:${i}`);
      await Promise.all(keys.map((key) => client.set(key, key.toUpperCase())));
      expect(await Promise.all(keys.map((key) => client.get(key)))).toEqual(
        keys.map((key) => key.toUpperCase()),
      );
      const masters = (client as Cluster).nodes("master");
      expect(masters).toHaveLength(3);
      for (const master of masters) expect(await master.dbsize()).toBeGreaterThan(0);
    } finally {
      await client.quit();
    }
  });

  it("passes the start-up check", async () => {
    expect(await checkTarget(clusterTarget(cluster.nodes))).toEqual({ warnings: [] });
  });

  it("refuses a non-cluster Redis given as cluster nodes", async () => {
    await expect(checkTarget(clusterTarget([testRedis()]))).rejects.toThrow(
      `REDIS_CLUSTER_NODES: ${testRedis()}: this Redis is not a cluster: cluster_enabled:0; ` +
        `use REDIS_URL=redis://${testRedis()} (and unset REDIS_CLUSTER_NODES)`,
    );
  });

  it("refuses a cluster node given as REDIS_URL, naming the nodes to list", async () => {
    const error = await checkTarget({ kind: "single", url: `redis://${cluster.nodes[0]}` }).catch(
      (caught: unknown) => caught as Error,
    );
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toContain(
      `the Redis at redis://${cluster.nodes[0]} (REDIS_URL): this Redis is a cluster node (cluster_enabled:1)`,
    );
    const listed = /use REDIS_CLUSTER_NODES=(\S+) instead of REDIS_URL/.exec(message)?.[1];
    expect(listed?.split(",").sort()).toEqual([...cluster.masters].sort());
  });

  it("refuses nodes that do not answer, saying which", async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    await expect(checkTarget(clusterTarget([dead]))).rejects.toThrow(
      `REDIS_CLUSTER_NODES: no node answers: ${dead} (connect ECONNREFUSED ${dead})`,
    );
    await expect(checkTarget(clusterTarget([cluster.nodes[0] as string, dead]))).rejects.toThrow(
      `REDIS_CLUSTER_NODES: ${dead} does not answer (connect ECONNREFUSED ${dead}) and is not a node of the cluster of ${cluster.nodes[0]}; correct it or remove it from the list`,
    );
    await expect(checkTarget({ kind: "single", url: `redis://${dead}` })).rejects.toThrow(
      `the Redis at redis://${dead} (REDIS_URL) does not answer (connect ECONNREFUSED ${dead}); start Redis there or correct REDIS_URL`,
    );
  });

  it("gives up soon on a CLI connection to a cluster that does not answer", async () => {
    const client = connectTarget(clusterTarget([`127.0.0.1:${await freePort()}`]), "admin");
    client.on("error", () => {});
    const started = Date.now();
    await expect(client.get("x")).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5000);
    client.disconnect();
  });

  it("refuses at start-up of a command: a non-cluster as cluster, a cluster node as REDIS_URL", async () => {
    const env = cliEnv("ct");
    delete env.REDIS_URL;
    const asCluster = await run(["status"], { ...env, REDIS_CLUSTER_NODES: testRedis() });
    expect(asCluster.code).not.toBe(0);
    expect(asCluster.stderr).toContain("this Redis is not a cluster: cluster_enabled:0");
    const asSingle = await run(["status"], { ...env, REDIS_URL: `redis://${cluster.nodes[0]}` });
    expect(asSingle.code).not.toBe(0);
    expect(asSingle.stderr).toContain("this Redis is a cluster node (cluster_enabled:1)");
  });

  it("sends a batch over every master, replies in order, and follows a slot moved under it", async () => {
    const client = connectTarget(clusterTarget(cluster.nodes), "command", "sb:test") as Cluster;
    try {
      const keys = Array.from({ length: 60 }, (_, i) => `ct:batch:${i}`);
      const written = await sendCommands(client, (batch) => {
        for (const key of keys) batch.set(key, key).get(key);
      });
      expect(written).toEqual(
        keys.flatMap((key) => [
          [null, "OK"],
          [null, key],
        ]),
      );

      // Hand an empty slot to another master behind the client's back: its slot table
      // still names the old one, whose pipeline answers MOVED for that key only.
      const moved = "ct:moved";
      const slot = slotOf(moved);
      const owner = client.slots[slot]![0]!;
      const to = cluster.masters.find((master) => master !== owner)!;
      const node = (address: string) => new Redis(Number(address.split(":")[1]), "127.0.0.1");
      const [source, admin] = [node(owner), node(to)];
      try {
        // A slot migration without keys to move: the importing side bumps its epoch when
        // given the slot, so every node (replicas too) takes the new owner.
        const [sourceId, toId] = await Promise.all([source.cluster("MYID"), admin.cluster("MYID")]);
        await admin.cluster("SETSLOT", slot, "IMPORTING", sourceId);
        await source.cluster("SETSLOT", slot, "MIGRATING", toId);
        await admin.cluster("SETSLOT", slot, "NODE", toId);
        await source.cluster("SETSLOT", slot, "NODE", toId);
        const sameNode = keys.filter((key) => client.slots[slotOf(key)]![0] === owner);
        const replies = await sendCommands(client, (batch) => {
          // Writes: ioredis itself retries a redirected pipeline only when all else in it read.
          for (const key of sameNode) batch.append(key, "!");
          batch.set(moved, "here");
        });
        expect(replies).toEqual([...sameNode.map((key) => [null, key.length + 1]), [null, "OK"]]);
        expect(await admin.get(moved)).toBe("here");
      } finally {
        source.disconnect();
        admin.disconnect();
      }
    } finally {
      client.disconnect();
    }
  });

  // Last: these kill nodes.
  it("sends XINFO and XGROUP to the master of their stream, never to a random node", async () => {
    const client = connectTarget(clusterTarget(cluster.nodes), "command", "sb:test");
    try {
      const streams = Array.from({ length: 30 }, (_, i) => `ct:groups:${i}`);
      await client.ping();
      await Promise.all(streams.map((stream) => client.xlen(stream))); // slot table loaded
      const before = await redirections(client);
      for (const stream of streams) {
        await ensureGroup(client, stream, "g");
        await client.xadd(stream, "*", "f", "v");
        await client.xreadgroup("GROUP", "g", "c1", "COUNT", 1, "STREAMS", stream, ">");
        expect((await readGroups(client, stream)).map((g) => g.name)).toEqual(["g"]);
        expect((await readConsumers(client, stream, "g")).map((c) => c.name)).toEqual(["c1"]);
        await deleteConsumer(client, stream, "g", "c1");
      }
      const replies = await sendCommands(client, (batch) => {
        for (const stream of streams) batch.xinfo("GROUPS", stream);
      });
      expect(replies.every(([error]) => error === null)).toBe(true);
      // Sent as keyless, about two in three would have met MOVED.
      expect((await redirections(client)).MOVED).toBe(before.MOVED);
    } finally {
      await client.quit();
    }
  });

  it("keeps every write of a command connection through a master's failover", async () => {
    const client = connectTarget(clusterTarget(cluster.nodes), "command") as Cluster;
    try {
      const keys = Array.from({ length: 30 }, (_, i) => `ct:failover:${i}`);
      await Promise.all(keys.map((key) => client.set(key, "0")));
      await cluster.kill(Number(cluster.masters[0]?.split(":")[1]));
      const started = Date.now();
      for (let round = 1; Date.now() - started < 6000; round++) {
        await Promise.all(keys.map((key) => client.set(key, String(round))));
        expect(await client.mget(...keys.slice(0, 1))).toEqual([String(round)]);
      }
      expect((await client.cluster("INFO")).toString()).toContain("cluster_state:ok");
    } finally {
      client.disconnect();
    }
  }, 30_000);

  it("warns of a listed node that is down but known to the cluster", async () => {
    const roles = await cluster.roles();
    const replica = [...roles].find(([, role]) => role === "slave")?.[0] as string;
    await cluster.kill(Number(replica.split(":")[1]));
    const { warnings } = await checkTarget(clusterTarget(cluster.nodes));
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          new RegExp(`^REDIS_CLUSTER_NODES: ${replica} does not answer \\(connect ECONNREFUSED`),
        ),
      ]),
    );
  });

  // Last of all: from here on the nodes ask for a password.
  it("speaks to a cluster that asks for a password, and refuses a missing or wrong one", async () => {
    const live = [...(await cluster.roles()).keys()];
    for (const address of live) {
      const node = new Redis(Number(address.split(":")[1]), "127.0.0.1");
      await node.config("SET", "masterauth", "pw-cluster");
      await node.config("SET", "requirepass", "pw-cluster");
      node.disconnect();
    }
    const bare = clusterTarget(live);
    await expect(checkTarget(bare)).rejects.toThrow(
      /^REDIS_CLUSTER_NODES: (\S+) asks for a password \(NOAUTH Authentication required\.\); give it in the list as redis:\/\/\[USER\]:PASSWORD@\1 /,
    );
    await expect(
      checkTarget({ ...bare, access: { password: "wrong", tls: false } }),
    ).rejects.toThrow("refuses the user or password given (WRONGPASS");
    const target = { ...bare, access: { password: "pw-cluster", tls: false } };
    expect(await checkTarget(target)).toEqual({ warnings: [] });
    const client = connectTarget(target, "command", "sb:test") as Cluster;
    try {
      const keys = Array.from({ length: 30 }, (_, i) => `ct:auth:${i}`);
      await sendCommands(client, (batch) => {
        for (const key of keys) batch.set(key, key);
      });
      expect(await Promise.all(keys.map((key) => client.get(key)))).toEqual(keys);
    } finally {
      client.disconnect();
    }
  });
});
