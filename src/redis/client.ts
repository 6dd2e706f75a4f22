import { Cluster, type Redis } from "ioredis";

/**
 * A connection commands are sent on: to one Redis, or to a Redis Cluster, where each
 * command goes to the master of its key's slot (see `connectTarget`).
 */
export type RedisClient = Redis | Cluster;

/**
 * The servers that hold the data: the one Redis, or each master of a cluster (as the
 * client knows them now). For what each server must be asked itself: SCAN, CONFIG GET.
 */
export function serversOf(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes("master") : [client];
}
