import { Cluster, type ChainableCommander } from "ioredis";
import type { RedisClient } from "./client.js";

/** What a batch's commands answered: [error, reply] per command, in order. */
export type Replies = [Error | null, unknown][];

/** Adds commands to a batch. */
export type FillBatch = (batch: ChainableCommander) => void;

/** What one item's commands answered: their replies, or the first error among them. */
export type ItemReplies = { ok: true; replies: unknown[] } | { ok: false; error: Error };

/**
 * Sends the commands `fill` adds to a batch. On one Redis they go in one round trip (a
 * pipeline). On a Redis Cluster a pipeline must keep to the keys of one node, and a batch
 * may touch keys on every node: each command is sent by itself instead, to its key's
 * master, all at once (written without waiting for replies, so about a round trip per
 * node). Either way the replies come back in the order of the commands.
 * Nothing is ordered across nodes: see {@link sendInOrder} when one write must land first.
 */
export function sendCommands(redis: RedisClient, fill: FillBatch): Promise<Replies> {
  return sendInOrder(redis, [fill]);
}

/**
 * Sends what `queue` adds to a batch (see {@link sendCommands}) and reads the replies with
 * what `queue` returns: for reads whose batch and reading are built together.
 */
export async function sendAndRead<T>(
  redis: RedisClient,
  queue: (batch: ChainableCommander) => (replies: Replies) => T,
): Promise<T> {
  const readers: ((replies: Replies) => T)[] = [];
  const replies = await sendCommands(redis, (batch) => readers.push(queue(batch)));
  return readers[0]!(replies);
}

/**
 * Like {@link sendCommands}, for commands in steps whose order matters across keys (a
 * record to write before the stream entry that names it): in one round trip on one Redis,
 * where a pipeline runs in order; on a cluster, each step once the one before has answered.
 */
export async function sendInOrder(
  redis: RedisClient,
  steps: readonly FillBatch[],
): Promise<Replies> {
  if (!(redis instanceof Cluster)) {
    const batch = redis.pipeline();
    for (const fill of steps) fill(batch);
    return batch.length === 0 ? [] : ((await batch.exec()) ?? []);
  }
  const replies: Replies = [];
  for (const fill of steps) replies.push(...(await sendEach(redis, record(fill))));
  return replies;
}

/**
 * Sends the commands of a whole batch, grouped per item: `queue` adds one item's commands;
 * the replies come back grouped per item, in order (see {@link sendCommands}).
 *
 * Stage handlers use this rather than a promise per command: on one Redis it costs far
 * less CPU per entry.
 */
export async function sendBatch<T>(
  redis: RedisClient,
  items: readonly T[],
  queue: (batch: ChainableCommander, item: T) => void,
): Promise<ItemReplies[]> {
  let counts: number[] = [];
  const replies = await sendCommands(redis, (batch) => {
    counts = items.map((item) => {
      const before = batch.length;
      queue(batch, item);
      return batch.length - before;
    });
  });
  let at = 0;
  return counts.map((count) => {
    const mine = replies.slice(at, at + count);
    at += count;
    const failed = mine.find(([error]) => error !== null);
    return failed === undefined
      ? { ok: true, replies: mine.map(([, reply]) => reply) }
      : { ok: false, error: failed[0]! };
  });
}

/** A command a batch was given: its method's name (a script's too) and its arguments. */
interface Call {
  method: string;
  args: unknown[];
}

/**
 * The commands `fill` adds, recorded by a stand-in for a batch: every method records a
 * call and returns the stand-in, so calls chain as on a pipeline; `length` counts them.
 */
function record(fill: FillBatch): Call[] {
  const calls: Call[] = [];
  const batch: ChainableCommander = new Proxy({} as ChainableCommander, {
    get(_target, property) {
      if (property === "length") return calls.length;
      if (typeof property !== "string" || property === "then") return undefined;
      return (...args: unknown[]) => {
        calls.push({ method: property, args });
        return batch;
      };
    },
  });
  fill(batch);
  return calls;
}

/** Sends each call on the cluster connection, all at once; their replies in order. */
async function sendEach(cluster: Cluster, calls: readonly Call[]): Promise<Replies> {
  const methods = cluster as unknown as Record<
    string,
    ((...args: unknown[]) => unknown) | undefined
  >;
  const settled = await Promise.allSettled(
    calls.map(({ method, args }) => {
      const send = methods[method];
      if (typeof send !== "function") {
        return Promise.reject(
          new Error(
            `${method} is not a command of this connection (a Lua script not defined on it? see defineScripts in src/app/scripts.ts)`,
          ),
        );
      }
      return send.apply(cluster, args);
    }),
  );
  return settled.map((result): [Error | null, unknown] =>
    result.status === "fulfilled" ? [null, result.value] : [toError(result.reason), null],
  );
}

function toError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}
