import { Cluster } from "ioredis";
import { serversOf, type RedisClient } from "../redis/client.js";
import { infoField } from "../redis/info.js";
import type { Keys } from "../redis/keys.js";
import { allPartitions } from "../streams/partitions.js";

/** One master of a Redis Cluster, as `switchboard status` shows it. */
export interface NodeStatus {
  /** `host:port`, as the cluster announces it. */
  address: string;
  /** The hash slots it serves, as ranges such as `0-5460`. */
  slots: string[];
  /** The pipeline's partitions whose hash tag ({p0}…) falls in its slots. */
  partitions: number[];
  used_memory_bytes: number;
  /** Replicas connected to it now. */
  replicas: number;
}

interface SlotRange {
  start: number;
  end: number;
  address: string;
}

/**
 * Each master of the cluster with its slots, the pipeline's partitions they hold, its
 * memory and its replicas; undefined on a single Redis (it holds everything).
 */
export async function readNodes(
  redis: RedisClient,
  keys: Keys,
  partitions: number,
): Promise<NodeStatus[] | undefined> {
  if (!(redis instanceof Cluster)) return undefined;
  const ranges: SlotRange[] = (await redis.cluster("SLOTS"))
    .map(([start, end, master]) => ({ start, end, address: `${master![0]}:${master![1]}` }))
    .sort((a, b) => a.start - b.start);
  // Any key of a partition: its hash tag, {pN}, decides the slot.
  const slots = await Promise.all(
    allPartitions(partitions).map((p) => redis.cluster("KEYSLOT", keys.forPartition(p).stream(""))),
  );
  const nodes = await Promise.all(
    serversOf(redis).map(async (server): Promise<NodeStatus> => {
      const address = `${server.options.host}:${server.options.port}`;
      const mine = ranges.filter((r) => r.address === address);
      const [memory, replication] = await Promise.all([
        server.info("memory"),
        server.info("replication"),
      ]);
      return {
        address,
        slots: mine.map((r) => (r.start === r.end ? `${r.start}` : `${r.start}-${r.end}`)),
        partitions: allPartitions(partitions).filter((p) =>
          mine.some((r) => slots[p]! >= r.start && slots[p]! <= r.end),
        ),
        used_memory_bytes: Number(infoField(memory, "used_memory") ?? 0),
        replicas: Number(infoField(replication, "connected_slaves") ?? 0),
      };
    }),
  );
  // In slot order; a master without slots (being set up) last.
  const first = (node: NodeStatus) => {
    const at = ranges.findIndex((r) => r.address === node.address);
    return at === -1 ? ranges.length : at;
  };
  return nodes.sort((a, b) => first(a) - first(b));
}
