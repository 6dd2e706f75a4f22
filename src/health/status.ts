import type { ChainableCommander } from "ioredis";
import { sendAndRead, type Replies } from "../redis/batch.js";
import type { RedisClient } from "../redis/client.js";
import { STAGE_NAMES, type Pipeline, type StageName } from "../config/pipeline.js";
import { parseGroups } from "../redis/info.js";
import type { Keys } from "../redis/keys.js";
import { WORKER_LIVE_MS } from "../pipeline/heartbeat.js";
import { allPartitions } from "../streams/partitions.js";

/**
 * How far behind each stage is, read from Redis in one round trip: what `switchboard
 * status` prints, what `/readyz` judges and what the cluster gauges of `/metrics` show.
 */

/** What reading the status needs; a CLI runtime is one. */
export interface StatusSource {
  redis: RedisClient;
  keys: Keys;
  pipeline: Pipeline;
}

export interface StageStatus {
  stream: string;
  group: string;
  /** False until a worker (or serve) created the stage's consumer group. */
  group_exists: boolean;
  length: number;
  /** Entries not yet handed to the group; null when Redis cannot tell (after trims). */
  lag: number | null;
  pending: number;
  /**
   * Consumers in the group, as Redis reports them: Redis 7.0 makes a consumer only on its
   * first delivery, so this undercounts idle workers; see `workers`.
   */
  consumers: number;
  /** Worker processes running this stage, heard from within `WORKER_LIVE_MS`. */
  workers: number;
  /** Age of the oldest entry handed out but not acknowledged; null when none is pending. */
  oldest_pending_ms: number | null;
}

/** The stages and dead letters of one partition. */
export interface PartitionStatus {
  partition: number;
  stages: Record<StageName, StageStatus>;
  dead_letters: { stream: string; length: number };
}

/**
 * The status of every partition, and their sum: `stages` adds lengths, lag and pending up,
 * gives the oldest pending entry, and the fewest workers of any partition (the weakest).
 */
export interface StatusReport extends Omit<PartitionStatus, "partition"> {
  prefix: string;
  pipeline: string;
  partitions: PartitionStatus[];
}

export function readStatus(source: StatusSource, now = Date.now()): Promise<StatusReport> {
  return sendAndRead(source.redis, (batch) => queueStatus(batch, source, now));
}

/**
 * Adds the commands of a status read to a batch (four per stage and one for the dead
 * letters, per partition); returns what reads the report from the replies.
 */
export function queueStatus(
  batch: ChainableCommander,
  source: StatusSource,
  now: number,
): (replies: Replies) => StatusReport {
  const { keys, pipeline } = source;
  const reads = allPartitions(pipeline.partitions).map((p) =>
    queuePartition(batch, keys.forPartition(p), pipeline, now),
  );
  return (replies) => {
    const partitions = reads.map((read) => read(replies));
    return { prefix: keys.prefix, pipeline: pipeline.source, ...sum(partitions), partitions };
  };
}

function queuePartition(
  batch: ChainableCommander,
  keys: Keys,
  pipeline: Pipeline,
  now: number,
): (replies: Replies) => PartitionStatus {
  const at = batch.length;
  const streams = STAGE_NAMES.map((name) => keys.stream(pipeline.stages[name].stream));
  STAGE_NAMES.forEach((name, i) => {
    const stream = streams[i]!;
    batch
      .xlen(stream)
      .xinfo("GROUPS", stream)
      .xpending(stream, pipeline.stages[name].group)
      .zcount(keys.workers(name), now - WORKER_LIVE_MS, "+inf");
  });
  const deadStream = keys.stream(pipeline.deadLetters.stream);
  batch.xlen(deadStream);
  return (replies) => {
    const mine = replies.slice(at);
    const stages = Object.fromEntries(
      STAGE_NAMES.map((name, i) => {
        const [length, groups, pending, workers] = mine.slice(i * PER_STAGE, (i + 1) * PER_STAGE);
        const stage = pipeline.stages[name];
        const status = stageStatus(streams[i]!, stage.group, length!, groups!, pending!, now);
        return [name, { ...status, workers: Number(reply(workers!)) }];
      }),
    ) as Record<StageName, StageStatus>;
    const length = Number(reply(mine[STAGE_NAMES.length * PER_STAGE]!));
    return { partition: keys.partition, stages, dead_letters: { stream: deadStream, length } };
  };
}

/** The partitions' statuses added up; one partition's is its own. */
function sum(partitions: readonly PartitionStatus[]): Omit<PartitionStatus, "partition"> {
  const [first, ...rest] = partitions;
  if (rest.length === 0) return { stages: first!.stages, dead_letters: first!.dead_letters };
  const stages = Object.fromEntries(
    STAGE_NAMES.map((name) => {
      const all = partitions.map((p) => p.stages[name]);
      const pendingAges = all.flatMap((s) =>
        s.oldest_pending_ms === null ? [] : [s.oldest_pending_ms],
      );
      const total: StageStatus = {
        stream: all.map((s) => s.stream).join(", "),
        group: first!.stages[name].group,
        group_exists: all.every((s) => s.group_exists),
        length: all.reduce((n, s) => n + s.length, 0),
        lag: all.some((s) => s.lag === null) ? null : all.reduce((n, s) => n + s.lag!, 0),
        pending: all.reduce((n, s) => n + s.pending, 0),
        consumers: all.reduce((n, s) => n + s.consumers, 0),
        workers: Math.min(...all.map((s) => s.workers)),
        oldest_pending_ms: pendingAges.length === 0 ? null : Math.max(...pendingAges),
      };
      return [name, total];
    }),
  ) as Record<StageName, StageStatus>;
  const dead = partitions.map((p) => p.dead_letters);
  return {
    stages,
    dead_letters: {
      stream: dead.map((d) => d.stream).join(", "),
      length: dead.reduce((n, d) => n + d.length, 0),
    },
  };
}

/** Commands per stage in a status read. */
const PER_STAGE = 4;

function stageStatus(
  stream: string,
  group: string,
  lengthReply: Replies[number],
  groupsReply: Replies[number],
  pendingReply: Replies[number],
  now: number,
): Omit<StageStatus, "workers"> {
  const base = { stream, group, length: Number(reply(lengthReply)) };
  // A stream that does not exist yet has no groups.
  const [groupsError] = groupsReply;
  if (groupsError !== null && !/no such key/i.test(groupsError.message)) throw groupsError;
  const info = parseGroups(groupsReply[1]).find((g) => g.name === group);
  if (info === undefined) {
    return {
      ...base,
      group_exists: false,
      lag: 0,
      pending: 0,
      consumers: 0,
      oldest_pending_ms: null,
    };
  }
  // The XPENDING summary: count, smallest id, …; the id's milliseconds give the age.
  const [count, minId] = reply(pendingReply) as [number, string | null];
  return {
    ...base,
    group_exists: true,
    lag: info.lag,
    pending: info.pending,
    consumers: info.consumers,
    oldest_pending_ms:
      count === 0 || typeof minId !== "string"
        ? null
        : Math.max(0, now - Number(minId.split("-")[0])),
  };
}

/** The reply, or its error thrown. */
export function reply([error, value]: Replies[number]): unknown {
  if (error !== null) throw error;
  return value;
}
