import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { Redis } from "ioredis";
import type { ClusterAccess, ClusterNode } from "../config/cluster-nodes.js";
import { SwitchboardError } from "../protocol/errors.js";
import { parseClusterNodes, type NodeEntry } from "./cluster-table.js";
import { probeConnection } from "./connection.js";
import { infoField } from "./info.js";
import { redactUrl } from "./provision.js";
import { nodeAddress, nodeOptions, type RedisTarget } from "./target.js";

export interface TargetCheck {
  /** Listed nodes that do not answer but that the cluster knows (failed, or restarting). */
  warnings: string[];
}

/**
 * The start-up check: refuses a target that cannot work, saying why and what to set.
 * One Redis must answer and not be a cluster node. Of a cluster's listed nodes, one at
 * least must answer; each that answers must be a node of the same cluster, with
 * `cluster_state:ok`; a listed node that does not answer is refused unless the cluster
 * knows it (then it is down, and the others serve: a warning).
 */
export async function checkTarget(target: RedisTarget, timeoutMs = 2000): Promise<TargetCheck> {
  if (target.kind === "cluster") return checkCluster(target.nodes, target.access, timeoutMs);
  const where = `the Redis at ${redactUrl(target.url)} (REDIS_URL)`;
  const client = await probeConnection(target.url, timeoutMs).catch((error: unknown) => {
    throw new SwitchboardError(
      "REDIS_UNAVAILABLE",
      `${where} does not answer (${messageOf(error)}); start Redis there or correct REDIS_URL`,
      { field: "REDIS_URL", cause: error },
    );
  });
  try {
    if (infoField(await client.info("cluster"), "cluster_enabled") === "1") {
      const masters = parseClusterNodes(await clusterCommand(client, "NODES"))
        .filter((entry) => entry.master && !entry.failed)
        .map((entry) => entry.address);
      throw new SwitchboardError(
        "CONFIG",
        `${where}: this Redis is a cluster node (cluster_enabled:1), and one connection ` +
          `cannot reach the keys of the other nodes; use REDIS_CLUSTER_NODES=${masters.join(",")} ` +
          "instead of REDIS_URL",
        { field: "REDIS_URL" },
      );
    }
  } finally {
    client.disconnect();
  }
  return { warnings: [] };
}

type Probe = { node: ClusterNode; client: Redis } | { node: ClusterNode; error: string };

async function checkCluster(
  nodes: readonly ClusterNode[],
  access: ClusterAccess | undefined,
  timeoutMs: number,
): Promise<TargetCheck> {
  const probes = await Promise.all(
    nodes.map(async (node): Promise<Probe> => {
      try {
        return {
          node,
          client: await probeConnection({ ...node, ...nodeOptions(access) }, timeoutMs),
        };
      } catch (error) {
        refuseAccess(node, error);
        return { node, error: messageOf(error) };
      }
    }),
  );
  try {
    return await checkProbes(probes);
  } finally {
    for (const probe of probes) if ("client" in probe) probe.client.disconnect();
  }
}

async function checkProbes(probes: readonly Probe[]): Promise<TargetCheck> {
  const reachable = probes.filter((probe) => "client" in probe);
  const unreachable = probes.filter((probe) => "error" in probe);
  const [first] = reachable;
  if (first === undefined) {
    const why = unreachable.map((probe) => `${nodeAddress(probe.node)} (${probe.error})`);
    throw refusal(
      "REDIS_UNAVAILABLE",
      `no node answers: ${why.join(", ")}; start the cluster, or correct the list`,
    );
  }
  for (const { node, client } of reachable) await checkNode(node, client);
  const table = parseClusterNodes(await clusterCommand(first.client, "NODES"));
  for (const { node, client } of reachable.slice(1)) {
    const id = await clusterCommand(client, "MYID");
    if (!table.some((entry) => entry.id === id)) {
      throw refusal(
        "CONFIG",
        `${nodeAddress(node)} and ${nodeAddress(first.node)} are nodes of different clusters; ` +
          "list the nodes of one cluster",
      );
    }
  }
  const warnings: string[] = [];
  for (const { node, error } of unreachable) {
    const entry = await findEntry(table, node);
    const address = nodeAddress(node);
    if (entry === undefined) {
      throw refusal(
        "REDIS_UNAVAILABLE",
        `${address} does not answer (${error}) and is not a node of the cluster of ` +
          `${nodeAddress(first.node)}; correct it or remove it from the list`,
      );
    }
    const state = entry.failed ? "marked failed by the cluster" : "a node of the cluster";
    warnings.push(`REDIS_CLUSTER_NODES: ${address} does not answer (${error}); it is ${state}`);
  }
  return { warnings };
}

/**
 * A node that answers but will not let this client in: no password given where one is
 * needed (NOAUTH), or the wrong user or password (WRONGPASS), which no retry can mend.
 */
function refuseAccess(node: ClusterNode, error: unknown): void {
  const message = messageOf(error);
  const address = nodeAddress(node);
  const form = `redis://[USER]:PASSWORD@${address}`;
  if (/^NOAUTH\b/.test(message)) {
    throw refusal(
      "CONFIG",
      `${address} asks for a password (${message}); give it in the list as ${form} (on one item: it applies to every node)`,
    );
  }
  if (/^WRONGPASS\b/.test(message)) {
    throw refusal(
      "CONFIG",
      `${address} refuses the user or password given (${message}); correct them in ${form}`,
    );
  }
}

/** A listed node that answers must be a cluster node serving every slot. */
async function checkNode(node: ClusterNode, client: Redis): Promise<void> {
  const address = nodeAddress(node);
  if (infoField(await client.info("cluster"), "cluster_enabled") !== "1") {
    throw refusal(
      "CONFIG",
      `${address}: this Redis is not a cluster: cluster_enabled:0; use ` +
        `REDIS_URL=redis://${address} (and unset REDIS_CLUSTER_NODES)`,
    );
  }
  const state = infoField(await clusterCommand(client, "INFO"), "cluster_state");
  if (state !== "ok") {
    throw refusal(
      "REDIS_UNAVAILABLE",
      `${address} says cluster_state:${state ?? "(none)"}: the cluster does not serve all its ` +
        "slots (not set up yet, or a master down with no replica to take over); see " +
        `\`redis-cli --cluster check ${address}\`, and start once it says ok`,
    );
  }
}

function refusal(code: "CONFIG" | "REDIS_UNAVAILABLE", message: string): SwitchboardError {
  return new SwitchboardError(code, `REDIS_CLUSTER_NODES: ${message}`, {
    field: "REDIS_CLUSTER_NODES",
  });
}

/** CLUSTER INFO, NODES, MYID: replies of text. */
async function clusterCommand(client: Redis, subcommand: "INFO" | "NODES" | "MYID") {
  return String(await client.call("CLUSTER", subcommand));
}

/** The cluster's entry of a listed node, by hostname, address or the addresses its name resolves to. */
async function findEntry(
  table: readonly NodeEntry[],
  node: ClusterNode,
): Promise<NodeEntry | undefined> {
  const port = `:${node.port}`;
  const named = table.find((entry) => entry.hostname === node.host && entry.address.endsWith(port));
  if (named !== undefined) return named;
  const ips = isIP(node.host) !== 0 ? [node.host] : await resolved(node.host);
  return table.find((entry) => ips.some((ip) => entry.address === `${ip}${port}`));
}

async function resolved(host: string): Promise<string[]> {
  try {
    return (await lookup(host, { all: true })).map((entry) => entry.address);
  } catch {
    return [];
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
