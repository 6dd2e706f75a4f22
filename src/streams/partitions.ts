import { crc32 } from "node:zlib";
import type { RedisClient as Redis } from "../redis/client.js";
import type { Pipeline } from "../config/pipeline.js";
import { SwitchboardError } from "../protocol/errors.js";
import type { Keys } from "../redis/keys.js";

/**
 * The partition a thread's messages go through: the CRC-32 of its id, modulo the count.
 * Every message of a thread takes the same one, so the stages see a thread in one stream.
 */
export function partitionOf(threadId: string, count: number): number {
  return count === 1 ? 0 : crc32(threadId) % count;
}

/** The partitions 0…count-1. */
export function allPartitions(count: number): number[] {
  return Array.from({ length: count }, (_, p) => p);
}

/** The keys of each partition of a pipeline, and the one a thread belongs to. */
export class Partitions {
  readonly all: readonly Keys[];

  constructor(keys: Keys, count: number) {
    this.all = allPartitions(count).map((p) => keys.forPartition(p));
  }

  get count(): number {
    return this.all.length;
  }

  of(threadId: string): Keys {
    return this.all[partitionOf(threadId, this.all.length)]!;
  }
}

/**
 * Parses `--partitions 0,2`: distinct partition numbers of the pipeline, in order.
 * Throws an INVALID_INPUT that names the flag and the partitions that exist.
 */
export function parsePartitionList(spec: string, count: number): number[] {
  const exist = count === 1 ? "only partition 0 exists" : `partitions 0 to ${count - 1} exist`;
  const refuse = (what: string) =>
    new SwitchboardError(
      "INVALID_INPUT",
      `--partitions ${JSON.stringify(spec)}: ${what}; give partition numbers separated by commas, such as 0,2 (${exist}: the pipeline's \`partitions: ${count}\`)`,
      { field: "partitions" },
    );
  const parts = spec.split(",").map((part) => part.trim());
  const numbers = parts.map((part) => {
    if (!/^\d+$/.test(part)) throw refuse(`'${part}' is not a partition number`);
    const p = Number(part);
    if (p >= count) throw refuse(`partition ${p} does not exist`);
    return p;
  });
  if (new Set(numbers).size !== numbers.length) throw refuse("a partition is named twice");
  return numbers.sort((a, b) => a - b);
}

/**
 * Records the pipeline's partition count where none is recorded yet, and refuses a count
 * other than the recorded one: the messages in flight, dead letters and error history of
 * the old layout would be stranded. docs/scaling.md says how to change it, drained.
 */
export async function checkPartitionCount(
  redis: Redis,
  keys: Keys,
  pipeline: Pipeline,
): Promise<void> {
  const key = keys.partitionCount();
  const recorded = (await redis.set(key, pipeline.partitions, "NX", "GET")) ?? undefined;
  if (recorded === undefined || Number(recorded) === pipeline.partitions) return;
  throw new SwitchboardError(
    "CONFIG",
    `${pipeline.source}: \`partitions: ${pipeline.partitions}\`, but this Switchboard's data (prefix '${keys.prefix}') is laid out in ${recorded}; keep \`partitions: ${recorded}\`, or drain the pipeline and change it as docs/scaling.md says ("Changing the count")`,
    { field: "partitions" },
  );
}
