import { exists as isCommand, getKeyIndexes } from "@ioredis/commands";
import slotOf from "cluster-key-slot";
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
 * may touch keys on every node: the commands are split by the master their key's slot is
 * on, one pipeline per master, all at once (see {@link sendPerNode}). Either way the
 * replies come back in the order of the commands.
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
 * Sends one command (see {@link sendCommands}) and answers its reply, or throws its error.
 * For `XINFO` and `XGROUP`, which a cluster client would send to a random node: a batch
 * sends them to the master of their stream.
 */
export async function sendOne(redis: RedisClient, fill: FillBatch): Promise<unknown> {
  const [[error, reply] = [new Error("a batch of one command answered nothing"), null]] =
    await sendCommands(redis, fill);
  if (error !== null) throw error;
  return reply;
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
  for (const fill of steps) replies.push(...(await sendPerNode(redis, record(fill))));
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

/**
 * Sends calls on a cluster connection: those whose key's master is known (from the
 * client's slot table) in one pipeline per master, the rest (no key, slots not known yet)
 * each by itself; all at once, the replies in the order of the calls.
 *
 * A pipeline is written to one node as a whole, so a master pays one read and one write
 * of its socket for dozens of commands, as on one Redis. But ioredis does not follow a
 * redirection inside a pipeline unless every command met the same one (ioredis issues
 * 1692, 2075): a call answered MOVED, ASK, TRYAGAIN or CLUSTERDOWN (the slot moved or is
 * moving, the cluster is failing over), or cut off by a closed connection, is sent again
 * by itself, where the cluster client follows the redirection and retries with its
 * backoff, as it would have for that call alone. A redirection means the command did not
 * run; a closed connection may have run it, which the callers' at-least-once handling
 * (idempotent scripts, dedupe markers) absorbs, as for a single command.
 */
async function sendPerNode(cluster: Cluster, calls: readonly Call[]): Promise<Replies> {
  const byNode = new Map<string, number[]>();
  const alone: number[] = [];
  const defined = cluster as unknown as Methods;
  calls.forEach((call, i) => {
    // An undefined method (a script not defined on the connection) fails in sendEach.
    const node = typeof defined[call.method] === "function" ? masterOf(cluster, call) : undefined;
    if (node === undefined) alone.push(i);
    else if (byNode.has(node)) byNode.get(node)!.push(i);
    else byNode.set(node, [i]);
  });
  const replies: Replies = new Array<[Error | null, unknown]>(calls.length);
  const again: number[] = [...alone];
  await Promise.all(
    [...byNode].map(async ([node, indexes]) => {
      const batch = batchTo(
        cluster,
        node,
        indexes.map((i) => calls[i]!),
      );
      const commands = batch as unknown as Methods;
      for (const i of indexes) commands[calls[i]!.method]!.apply(batch, calls[i]!.args);
      let got: Replies;
      try {
        got = (await batch.exec()) ?? [];
      } catch {
        // Refused before anything was sent: the slot table changed under the grouping.
        again.push(...indexes);
        return;
      }
      indexes.forEach((at, k) => {
        const reply = got[k] ?? [new Error("no reply in the batch"), null];
        if (reply[0] !== null && resendable(reply[0])) again.push(at);
        else replies[at] = reply;
      });
    }),
  );
  if (again.length > 0) {
    const resent = await sendEach(
      cluster,
      again.map((i) => calls[i]!),
    );
    again.forEach((at, k) => (replies[at] = resent[k]!));
  }
  return replies;
}

/**
 * A batch (pipeline) to `node`. The cluster's own pipeline goes where the first key ioredis sees
 * in it lives, and to a random node when it sees none: calls that all name their key after
 * a subcommand (XINFO, XGROUP) go on the master's own connection instead.
 */
function batchTo(cluster: Cluster, node: string, calls: readonly Call[]): ChainableCommander {
  if (calls.some((call) => !KEY_AFTER_SUBCOMMAND.has(call.method))) return cluster.pipeline();
  const master = cluster
    .nodes("master")
    .find(({ options }) => `${options.host}:${options.port}` === node);
  return (master ?? cluster).pipeline();
}

/** Errors after which the cluster client sends a single command again (see sendPerNode). */
const RESENDABLE = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN) |^Connection is closed\.$/;

function resendable(error: Error): boolean {
  return RESENDABLE.test(error.message);
}

/**
 * The node (`host:port`) serving the slot of a call's first key, as the client's slot
 * table says now; undefined for a call with no key, or when the table is not loaded. A
 * Lua script (not a Redis command: a name given to `defineCommand`) is called as
 * `(numKeys, ...keys, ...args)`.
 */
function masterOf(cluster: Cluster, { method, args }: Call): string | undefined {
  const flat: unknown[] = args.flat();
  let key: unknown;
  if (isCommand(method)) {
    const at = keyIndexOf(method, flat);
    key = at === undefined ? undefined : flat[at];
  } else if (Number(flat[0]) > 0) {
    key = flat[1];
  }
  if (typeof key !== "string" && !Buffer.isBuffer(key)) return undefined;
  return cluster.slots[slotOf(key)]?.[0];
}

/**
 * Commands that name their stream after a subcommand (`XINFO GROUPS key`, `XGROUP CREATE key
 * group …`), where ioredis's command table sees no key: sent as keyless, a cluster client
 * picks a random node, which answers MOVED two times in three and makes the client reload
 * its slot table.
 */
const KEY_AFTER_SUBCOMMAND: ReadonlySet<string> = new Set(["xinfo", "xgroup"]);

/** Where a Redis command's first key is among its arguments (undefined: none, or unreadable). */
function keyIndexOf(method: string, args: unknown[]): number | undefined {
  if (KEY_AFTER_SUBCOMMAND.has(method)) return args.length > 1 ? 1 : undefined;
  try {
    return getKeyIndexes(method, args as (string | Buffer | number)[])[0];
  } catch {
    return undefined;
  }
}

type Methods = Record<string, ((...args: unknown[]) => unknown) | undefined>;

/** Sends each call on the cluster connection by itself, all at once; their replies in order. */
async function sendEach(cluster: Cluster, calls: readonly Call[]): Promise<Replies> {
  const methods = cluster as unknown as Methods;
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
