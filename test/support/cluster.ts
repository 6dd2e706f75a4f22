import { expect } from "vitest";
import { parseClusterNodes } from "../../src/config/cluster-nodes.js";
import { serversOf, type RedisClient } from "../../src/redis/client.js";
import { infoField } from "../../src/redis/info.js";
import type { RedisTarget } from "../../src/redis/target.js";
import { eventually } from "./harness.js";

export type ClusterTarget = Extract<RedisTarget, { kind: "cluster" }>;

/** A cluster target naming these nodes (`host:port`), as REDIS_CLUSTER_NODES would. */
export function clusterTarget(addresses: readonly string[]): ClusterTarget {
  return { kind: "cluster", nodes: parseClusterNodes(addresses.join(",")).nodes };
}

/**
 * Waits until the inbox stream `inbox` holds every message of `threadOf` (message id →
 * thread id), then expects each exactly once and each thread's `seq` rising.
 */
export async function expectEachOnceInThreadOrder(
  redis: RedisClient,
  inbox: string,
  recipient: string,
  threadOf: ReadonlyMap<string, string>,
): Promise<void> {
  const expected = [...threadOf.keys()];
  const entries = await eventually(async () => {
    const all = await redis.xrange(inbox, "-", "+");
    return all.length >= expected.length && all;
  }, 60_000);
  const field = (fields: string[], name: string) => fields[fields.indexOf(name) + 1]!;
  const ids = entries.map(([, fields]) => field(fields, "mid"));
  expect(new Set(ids).size, `${recipient}: no duplicates`).toBe(ids.length);
  expect([...ids].sort(), recipient).toEqual([...expected].sort());
  const last = new Map<string, number>();
  const disorder: string[] = [];
  for (const [, fields] of entries) {
    const thread = threadOf.get(field(fields, "mid"))!;
    const seq = Number(field(fields, "seq"));
    if (seq <= (last.get(thread) ?? 0))
      disorder.push(`${thread}: ${seq} after ${last.get(thread)}`);
    last.set(thread, seq);
  }
  expect(disorder, recipient).toEqual([]);
}

/** What the cluster's nodes answered with a redirection or TRYAGAIN, summed. */
export async function redirections(
  redis: RedisClient,
): Promise<{ MOVED: number; ASK: number; TRYAGAIN: number }> {
  const sums = { MOVED: 0, ASK: 0, TRYAGAIN: 0 };
  for (const server of serversOf(redis)) {
    const stats = await server.info("errorstats");
    for (const name of ["MOVED", "ASK", "TRYAGAIN"] as const) {
      sums[name] += Number(
        /count=(\d+)/.exec(infoField(stats, `errorstat_${name}`) ?? "")?.[1] ?? 0,
      );
    }
  }
  return sums;
}
