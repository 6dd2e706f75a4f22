import { afterAll, afterEach, beforeAll, describe, it } from "vitest";
import { startCluster, type LocalCluster } from "../../src/redis/spawn-cluster.js";
import { cliEnv, killAll } from "../support/cli.js";
import { leaseScenario } from "../support/leases.js";
import { closeClients, writePipeline } from "../support/mcp.js";
import { testPrefix } from "../support/redis.js";

/**
 * Resource leases on a real Redis Cluster (three masters, three replicas): every lease lives
 * under the `{leases}` hash tag, so each lease script sees all of them on one node.
 */
let cluster: LocalCluster;

beforeAll(async () => {
  cluster = await startCluster();
}, 60_000);

afterEach(async () => {
  killAll();
  await closeClients();
});

afterAll(async () => {
  await cluster?.stop();
});

describe("leases on a Redis Cluster", () => {
  it("refuse the second agent, survive the holder's death until the TTL, and fence its late writes", async () => {
    const env = cliEnv(testPrefix(), await writePipeline());
    delete env.REDIS_URL;
    env.REDIS_CLUSTER_NODES = cluster.nodes.join(",");
    await leaseScenario(env);
  }, 90_000);
});
