import { isIP } from "node:net";
import { Cluster, type ClusterOptions, type RedisOptions } from "ioredis";
import type { RedisClient } from "./client.js";
import type { ClusterAccess, ClusterNode } from "../config/cluster-nodes.js";
import {
  connectRedis,
  reconnectDelay,
  redisOptionsFor,
  type ConnectionRole,
} from "./connection.js";
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
export function nodeOptions(access: ClusterAccess | undefined): RedisOptions {
  if (access === undefined) return {};
  const { username, password, tls } = access;
  return {
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...(tls ? { tls: {} } : {}),
  };
}
