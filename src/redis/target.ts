import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { Cluster, type ClusterOptions, type Redis, type RedisOptions } from "ioredis";
import type { RedisClient } from "./client.js";
import type { ClusterAccess, ClusterNode } from "../config/cluster-nodes.js";
import { SwitchboardError } from "../protocol/errors.js";
import {
  connectRedis,
  probeConnection,
  reconnectDelay,
  redisOptionsFor,
  type ConnectionRole,
} from "./connection.js";
import { infoField } from "./info.js";
import { redactUrl } from "./provision.js";

/** Where Redis is: one server (REDIS_URL, or one found or started), or a Redis Cluster. */
export type RedisTarget =
  | { kind: "single"; url: string }
  | { kind: "cluster"; nodes: readonly ClusterNode[]; access?: ClusterAccess };

/** Names a target for people, without a password: its URL, or its cluster's listed nodes. */
export function describeTarget(target: RedisTarget): string {
  if (target.kind === "single") return redactUrl(target.url);
  return `the Redis Cluster of ${target.nodes.map(nodeAddress).join(",")}`;
}

/** How an error names a node: `host:port`, `[v6]:port`. */
export function nodeAddress(node: ClusterNode): string {
  return isIP(node.host) === 6 ? `[${node.host}]:${node.port}` : `${node.host}:${node.port}`;
}

/**
 * Opens a connection for one role (see `connectRedis`): to one Redis, or to a cluster,
 * where each command goes to the master of its key's slot.
 */
export function connectTarget(
  target: RedisTarget,
  role: ConnectionRole,
  name?: string,
): RedisClient {
  if (target.kind === "single") return connectRedis(target.url, role, name);
  return new Cluster([...target.nodes], clusterOptionsFor(role, name, target.access));
}

/** A CLI command gives up after this many rounds of not reaching any node (about 1 s). */
const ADMIN_CLUSTER_ATTEMPTS = 4;

/**
 * Cluster options for a role. Reads and writes go to masters (a replica may lag, and the
 * stages read what they just wrote). MOVED is followed at once (the slot moved for good);
 * TRYAGAIN (a multi-key command during a slot migration), CLUSTERDOWN and a closed
 * connection (a master failing over) are retried after a pause, up to `maxRedirections`
 * times in all: 64 × 250 ms outlasts a failover (node timeout plus election) for the
 * long-running roles; a CLI command gives up sooner. No auto-pipelining: ioredis groups a
 * cluster's auto-pipelines per node, and a MOVED reply (a slot that moved, a command it
 * sent to the wrong node) then fails the commands instead of being followed (ioredis
 * issues 1692, 2075); commands are written without waiting for replies all the same.
 */
export function clusterOptionsFor(
  role: ConnectionRole,
  name?: string,
  access?: ClusterAccess,
): ClusterOptions {
  const { connectionName, maxRetriesPerRequest, enableOfflineQueue } = redisOptionsFor(role, name);
  const admin = role === "admin";
  return {
    scaleReads: "master",
    enableAutoPipelining: false,
    // Commands wait while the cluster (re)connects (but a producer's); a CLI command's
    // wait is bounded by its retry strategy giving up, which fails what waits.
    enableOfflineQueue,
    clusterRetryStrategy: (times) =>
      admin && times > ADMIN_CLUSTER_ATTEMPTS ? null : reconnectDelay(times),
    maxRedirections: admin ? 16 : 64,
    retryDelayOnMoved: 0,
    retryDelayOnTryAgain: 100,
    retryDelayOnClusterDown: 250,
    retryDelayOnFailover: 250,
    redisOptions: { connectionName, maxRetriesPerRequest, ...nodeOptions(access) },
  };
}

/** The options every connection to a node of the cluster takes: its user, password, TLS. */
function nodeOptions(access: ClusterAccess | undefined): RedisOptions {
  if (access === undefined) return {};
  const { username, password, tls } = access;
  return {
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...(tls ? { tls: {} } : {}),
  };
}

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
      const masters = parseNodes(await clusterCommand(client, "NODES"))
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
  const table = parseNodes(await clusterCommand(first.client, "NODES"));
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

interface NodeEntry {
  id: string;
  /** `ip:port`, as the cluster announces it. */
  address: string;
  hostname: string | undefined;
  master: boolean;
  failed: boolean;
}

/** CLUSTER NODES: `<id> <ip:port@cport[,hostname]> <flags> …`, one node a line. */
function parseNodes(reply: string): NodeEntry[] {
  return reply
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const [id = "", endpoint = "", flagList = ""] = line.split(" ");
      const [address = "", hostname] = endpoint.split(",");
      const flags = flagList.split(",");
      return {
        id,
        address: address.split("@")[0] ?? "",
        hostname: hostname === "" ? undefined : hostname,
        master: flags.includes("master"),
        failed: flags.includes("fail") || flags.includes("fail?"),
      };
    });
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
