import { sendCommands } from "../redis/batch.js";
import { SwitchboardError } from "../protocol/errors.js";
import { describeTarget } from "../redis/target.js";
import type { Runtime } from "./runtime.js";

/**
 * Whether a Switchboard has ever run under a prefix, for the read-only commands: a
 * mistyped `--prefix` shows an empty system that looks real, so they say so (and write
 * nothing: they only read).
 */

/**
 * True when any key a Switchboard leaves behind exists: the validate stream (made by the
 * first send, or by any worker), the agent directory (the first registration), the dead
 * letters or the error history. One EXISTS each, in one round trip; nothing is written.
 * Partition 0's streams are enough with partitions: every worker makes each partition's
 * stage streams, and anything in another partition's streams came from a registered
 * agent's send (the directory).
 */
export async function prefixInUse(runtime: Runtime): Promise<boolean> {
  const { redis, keys, pipeline } = runtime;
  const replies = await sendCommands(redis, (batch) => {
    for (const key of [
      keys.stream(pipeline.stages.validate.stream),
      keys.directory(),
      keys.stream(pipeline.deadLetters.stream),
      keys.errors(),
    ]) {
      batch.exists(key);
    }
  });
  return replies.some(([error, count]) => error === null && Number(count) > 0);
}

/** `no Switchboard has run under prefix 'sbx' on redis://…; check --prefix / SWITCHBOARD_PREFIX`. */
export function unusedPrefixMessage(runtime: Runtime): string {
  return `no Switchboard has run under prefix '${runtime.keys.prefix}' on ${describeTarget(runtime.target)}; check --prefix / SWITCHBOARD_PREFIX (and ${runtime.target.kind === "single" ? "--redis-url / REDIS_URL" : "--redis-cluster-nodes / REDIS_CLUSTER_NODES"})`;
}

/** Throws NOT_FOUND when no Switchboard has run under the prefix: for `switchboard status`. */
export async function requirePrefixInUse(runtime: Runtime): Promise<void> {
  if (!(await prefixInUse(runtime))) {
    throw new SwitchboardError("NOT_FOUND", unusedPrefixMessage(runtime), { field: "--prefix" });
  }
}

/** Writes a note on stderr when no Switchboard has run under the prefix; the command goes on. */
export async function noteUnusedPrefix(runtime: Runtime): Promise<void> {
  if (!(await prefixInUse(runtime))) {
    process.stderr.write(`switchboard: note: ${unusedPrefixMessage(runtime)}\n`);
  }
}
