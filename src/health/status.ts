import type { ChainableCommander, Redis } from "ioredis";
import { STAGE_NAMES, type Pipeline, type StageName } from "../config/pipeline.js";
import { parseGroups } from "../redis/info.js";
import type { Keys } from "../redis/keys.js";
import { WORKER_LIVE_MS } from "../pipeline/heartbeat.js";

/**
 * How far behind each stage is, read from Redis in one round trip: what `switchboard
 * status` prints, what `/readyz` judges and what the cluster gauges of `/metrics` show.
 */

/** What reading the status needs; a CLI runtime is one. */
export interface StatusSource {
  redis: Redis;
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

export interface StatusReport {
  prefix: string;
  pipeline: string;
  stages: Record<StageName, StageStatus>;
  dead_letters: { stream: string; length: number };
}

/** A batch's replies: [error, reply] per command. */
export type Replies = [Error | null, unknown][];

export async function readStatus(source: StatusSource, now = Date.now()): Promise<StatusReport> {
  const batch = source.redis.pipeline();
  const status = queueStatus(batch, source, now);
  return status(await execute(batch));
}

/** Sends a batch; its replies, one per command. */
export async function execute(batch: ChainableCommander): Promise<Replies> {
  return (await batch.exec()) ?? [];
}

/**
 * Adds the commands of a status read to a batch (four per stage, one for the dead
 * letters); returns what reads the report from the replies.
 */
export function queueStatus(
  batch: ChainableCommander,
  source: StatusSource,
  now: number,
): (replies: Replies) => StatusReport {
  const { keys, pipeline } = source;
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
    return {
      prefix: keys.prefix,
      pipeline: pipeline.source,
      stages,
      dead_letters: {
        stream: deadStream,
        length: Number(reply(mine[STAGE_NAMES.length * PER_STAGE]!)),
      },
    };
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
