import { Cluster, type Redis } from "ioredis";
import type { Durability } from "../config/durability.js";
import { SwitchboardError } from "../protocol/errors.js";

/**
 * `durability: replicated`: after a write, waits until `durability.replicas` replicas of
 * the master that took it confirm it (`WAIT numreplicas timeout`), or throws
 * `NOT_REPLICATED`. `keys` are the keys just written through `client`; `consequence` says
 * at the start of the error what an unconfirmed write means to the caller. With
 * `durability: local` it returns at once and sends nothing.
 *
 * WAIT confirms every write the connection made before it, and only on the node it is sent
 * to. On one Redis that is the one connection; on a Redis Cluster each key's master gets a
 * WAIT of its own, sent in a pipeline behind a read of the key so that it goes to the node
 * (and connection) that holds the key's slot. Keys of one hash tag share a node: one WAIT.
 */
export async function awaitReplicas(
  client: Redis | Cluster,
  durability: Durability,
  keys: readonly string[],
  consequence: string,
): Promise<void> {
  if (durability.mode === "local" || keys.length === 0) return;
  const { replicas, timeoutMs } = durability;
  const probes =
    client instanceof Cluster
      ? [...new Map(keys.map((key) => [hashTagOf(key), key])).values()]
      : keys.slice(0, 1);
  const confirmed = Math.min(
    ...(await Promise.all(probes.map((key) => waitFor(client, key, replicas, timeoutMs)))),
  );
  if (confirmed >= replicas) return;
  throw new SwitchboardError(
    "NOT_REPLICATED",
    `${consequence} (durability: replicated: ${confirmed} of the ${replicas} replicas required confirmed the write within ${timeoutMs} ms)`,
    { data: { replicas_required: replicas, replicas_confirmed: confirmed, timeout_ms: timeoutMs } },
  );
}

/** How many replicas of the master of `key` confirmed the writes of its connection. */
async function waitFor(
  client: Redis | Cluster,
  key: string,
  replicas: number,
  timeoutMs: number,
): Promise<number> {
  if (!(client instanceof Cluster)) return client.wait(replicas, timeoutMs);
  // A key-less WAIT in a pipeline goes where the pipeline's keys send it.
  const replies = await client.pipeline().exists(key).wait(replicas, timeoutMs).exec();
  const [error, confirmed] = replies?.[1] ?? [new Error(`no reply to WAIT on the node of ${key}`)];
  if (error !== null) throw error;
  return Number(confirmed);
}

/** What decides a key's slot: the text of its first non-empty `{…}`, or the whole key. */
function hashTagOf(key: string): string {
  const open = key.indexOf("{");
  const close = open === -1 ? -1 : key.indexOf("}", open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}
