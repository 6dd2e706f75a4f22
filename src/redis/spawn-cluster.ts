import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { promisify } from "node:util";
import { moveSlot, nodeTable, withNode, type MigrationPace } from "./cluster-slots.js";
import { freePort, spawnRedisServer, type SpawnedRedis } from "./spawn.js";

/**
 * A Redis Cluster of its own (tests, the cluster benchmark): three masters and three replicas, each a `redis-server`
 * on a spare port of 127.0.0.1 (never 6379), nothing on disk but `nodes.conf` in a
 * temporary directory. Node timeout 2 s, so a killed master fails over within seconds.
 */
export interface LocalCluster {
  /** Every node, `127.0.0.1:port`. */
  nodes: string[];
  /** The masters and replicas as created (a failover later swaps roles). */
  masters: string[];
  replicas: string[];
  /** Each live node's role now (`master` or `slave`), as a live node sees them. */
  roles(): Promise<Map<string, string>>;
  /** SIGKILLs the node on `port`, as a crash would. */
  kill(port: number): Promise<void>;
  /**
   * Starts a killed node again on its port, with its cluster config: it rejoins, as a
   * replica of the master that took over from it. Resolves once it replicates.
   */
  restart(port: number): Promise<void>;
  /** The master serving hash slot `slot` now, `127.0.0.1:port`. */
  masterOf(slot: number): Promise<string>;
  /**
   * Moves hash slots to the master `to` while clients use them, the way
   * `redis-cli --cluster reshard` does (see {@link moveSlot}), but `keysPerStep` keys at a
   * time with `pauseMs` between steps: each slot stays half-migrated for a while, so
   * clients meet `ASK` (a key already moved) and `TRYAGAIN` (a multi-key command whose
   * keys are split between the two nodes), then `MOVED` once it is done.
   */
  moveSlots(slots: readonly number[], to: string, pace?: MigrationPace): Promise<void>;
  /** `redis-cli --cluster reshard`: moves `count` slots of master `from` to master `to`. */
  reshard(from: string, to: string, count: number): Promise<void>;
  /** Stops every node and removes the directory; idempotent. */
  stop(): Promise<void>;
}

const NODES = 6;
const HOST = "127.0.0.1";
/** A node also listens on its port + 10000 (the cluster bus), so ports stay under 55536. */
const BUS_OFFSET = 10_000;
const READY_TIMEOUT_MS = 20_000;

export async function startCluster(
  options: { nodeTimeoutMs?: number } = {},
): Promise<LocalCluster> {
  const dir = await mkdtemp(join(tmpdir(), "sb-cluster-"));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  process.on("exit", removeDir);
  const servers = new Map<number, SpawnedRedis>();
  const killed = new Set<number>();
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await Promise.all([...servers.values()].map((server) => server.stop()));
      process.off("exit", removeDir);
      await rm(dir, { recursive: true, force: true });
    })());
  try {
    const nodeTimeout = String(options.nodeTimeoutMs ?? 2000);
    const started = await Promise.allSettled(
      Array.from({ length: NODES }, (_, i) => spawnNode(join(dir, `node-${i}`), nodeTimeout)),
    );
    const nodeIndex = new Map<number, number>();
    started.forEach((result, i) => {
      if (result.status !== "fulfilled") return;
      servers.set(result.value.port, result.value);
      nodeIndex.set(result.value.port, i);
    });
    const failed = started.find((result) => result.status === "rejected");
    if (failed !== undefined) throw failed.reason;
    const nodes = [...servers.keys()].map((port) => `${HOST}:${port}`);
    await promisify(execFile)(
      "redis-cli",
      ["--cluster", "create", ...nodes, "--cluster-replicas", "1", "--cluster-yes"],
      { timeout: READY_TIMEOUT_MS },
    );
    await waitUntilOk(nodes);
    const roles = await rolesOf(nodes[0] as string);
    return {
      nodes,
      masters: nodes.filter((node) => roles.get(node) === "master"),
      replicas: nodes.filter((node) => roles.get(node) === "slave"),
      async roles() {
        const live = [...servers].find(([port]) => !killed.has(port));
        if (live === undefined) throw new Error("every node of the local cluster is killed");
        const now = await rolesOf(`${HOST}:${live[0]}`);
        for (const port of killed) now.delete(`${HOST}:${port}`);
        return now;
      },
      async kill(port) {
        const server = servers.get(port);
        if (server === undefined) throw new Error(`no cluster node on port ${port}`);
        await server.kill();
        killed.add(port);
      },
      async restart(port) {
        if (!killed.has(port)) throw new Error(`cluster node ${port} is not killed`);
        const server = await spawnNode(join(dir, `node-${nodeIndex.get(port)}`), nodeTimeout, port);
        servers.set(port, server);
        killed.delete(port);
        await waitUntilOk(nodes);
      },
      async masterOf(slot) {
        const table = await nodeTable(nodes[0] as string);
        const owner = table.find((entry) => entry.master && entry.slots(slot));
        if (owner === undefined) throw new Error(`no master serves slot ${slot}`);
        return owner.address;
      },
      async moveSlots(slots, to, pace = {}) {
        for (const slot of slots) await moveSlot(slot, to, pace);
      },
      async reshard(from, to, count) {
        const table = await nodeTable(to);
        const id = (address: string) => table.find((entry) => entry.address === address)?.id;
        await promisify(execFile)(
          "redis-cli",
          [
            ...["--cluster", "reshard", to, "--cluster-from", id(from) ?? from],
            ...["--cluster-to", id(to) ?? to, "--cluster-slots", String(count), "--cluster-yes"],
          ],
          { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
        );
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** One node on a port whose bus port is free too; another pair when the first is taken meanwhile. */
async function spawnNode(dir: string, nodeTimeout: string, again?: number): Promise<SpawnedRedis> {
  for (let attempt = 1; ; attempt++) {
    const port = again ?? (await freePortPair());
    try {
      return await spawnRedisServer({
        dir,
        persistent: false,
        tried: "a local cluster needs redis-server",
        port,
        args: [
          ...["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"],
          ...["--cluster-node-timeout", nodeTimeout],
        ],
      });
    } catch (error) {
      if (attempt === 3 || again !== undefined) throw error;
    }
  }
}

async function freePortPair(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    try {
      await freePort(port);
      await freePort(port + BUS_OFFSET);
      return port;
    } catch {
      // taken: try another
    }
  }
}

/**
 * Waits until every node says `cluster_state:ok` and sees three masters and three
 * replicas, and every replica's link to its master is up (so a failover can happen).
 */
async function waitUntilOk(nodes: readonly string[]): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (const node of nodes) {
    for (;;) {
      const why = await notSettled(node);
      if (why === undefined) break;
      if (Date.now() > deadline) {
        throw new Error(`local cluster: ${node} not ready within ${READY_TIMEOUT_MS} ms: ${why}`);
      }
      await delay(100);
    }
  }
}

async function notSettled(node: string): Promise<string | undefined> {
  const info = await withNode(node, async (client) => String(await client.call("CLUSTER", "INFO")));
  if (!info.includes("cluster_state:ok")) return info;
  const roles = [...(await rolesOf(node)).values()];
  const replicas = roles.filter((role) => role === "slave").length;
  if (roles.length !== NODES || replicas !== NODES / 2) return `roles ${roles.join(",")}`;
  const replication = await withNode(node, (client) => client.info("replication"));
  if (replication.includes("role:slave") && !replication.includes("master_link_status:up")) {
    return replication;
  }
  return undefined;
}

/** `127.0.0.1:port` → `master` or `slave`, from CLUSTER NODES. */
async function rolesOf(node: string): Promise<Map<string, string>> {
  const roles = new Map<string, string>();
  for (const entry of await nodeTable(node)) {
    if (entry.role !== undefined) roles.set(entry.address, entry.role);
  }
  return roles;
}
