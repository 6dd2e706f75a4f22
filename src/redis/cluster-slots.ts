import { setTimeout as delay } from "node:timers/promises";
import { Redis } from "ioredis";
import { parseClusterNodes, type NodeEntry } from "./cluster-table.js";

// The nodes of a local cluster (see `spawn-cluster.ts`), one short connection a question:
// their table, and moving a slot between them.

/** How fast `LocalCluster.moveSlots` moves a slot's keys. */
export interface MigrationPace {
  /** Keys moved by one MIGRATE; default 10 (redis-cli's `--cluster-pipeline`). */
  keysPerStep?: number;
  /** Pause after each MIGRATE; default 0. */
  pauseMs?: number;
}

/** Runs `work` on a connection of its own to `node` (`host:port`), closed after. */
export async function withNode<T>(node: string, work: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(`redis://${node}`, { maxRetriesPerRequest: 1 });
  try {
    return await work(client);
  } finally {
    client.disconnect();
  }
}

/** CLUSTER NODES as `node` sees it. */
export async function nodeTable(node: string): Promise<NodeEntry[]> {
  return parseClusterNodes(
    String(await withNode(node, (client) => client.call("CLUSTER", "NODES"))),
  );
}

/**
 * Moves one slot to master `to` by the procedure of the Redis Cluster specification:
 * the target IMPORTING and the source MIGRATING it; MIGRATE of its keys until the
 * source has none left (a key that does not exist there is created on the target, by
 * ASK); then SETSLOT NODE on the target, the source and the other masters.
 */
export async function moveSlot(slot: number, to: string, pace: MigrationPace): Promise<void> {
  const table = await nodeTable(to);
  const source = table.find((entry) => entry.master && entry.slots(slot));
  const target = table.find((entry) => entry.address === to);
  if (source === undefined || target === undefined) throw new Error(`cannot move slot ${slot}`);
  if (source.id === target.id) return;
  const [host = "", port = ""] = to.split(":");
  const setslot = (node: string, ...args: string[]) =>
    withNode(node, (client) => client.call("CLUSTER", "SETSLOT", String(slot), ...args));
  await setslot(to, "IMPORTING", source.id);
  await setslot(source.address, "MIGRATING", target.id);
  await withNode(source.address, async (client) => {
    for (;;) {
      const keys = (await client.call(
        "CLUSTER",
        "GETKEYSINSLOT",
        String(slot),
        String(pace.keysPerStep ?? 10),
      )) as string[];
      if (keys.length === 0) return;
      await client.call("MIGRATE", host, port, "", "0", "5000", "KEYS", ...keys);
      if (pace.pauseMs) await delay(pace.pauseMs);
    }
  });
  await setslot(to, "NODE", target.id);
  await setslot(source.address, "NODE", target.id);
  for (const other of table.filter((entry) => entry.master)) {
    if (other.id !== source.id && other.id !== target.id) {
      await setslot(other.address, "NODE", target.id).catch(() => undefined);
    }
  }
}
