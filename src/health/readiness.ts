import {
  STAGE_NAMES,
  type Pipeline,
  type StageDefinition,
  type StageName,
} from "../config/pipeline.js";
import { toErrorInfo } from "../protocol/errors.js";
import { sendAndRead, sendCommands } from "../redis/batch.js";
import { parseConsumers, parseGroups, type ConsumerInfo } from "../redis/info.js";
import { allPartitions } from "../streams/partitions.js";
import {
  queueStatus,
  reply,
  type PartitionStatus,
  type StatusReport,
  type StatusSource,
} from "./status.js";

/** What `/readyz` answers: 200 with `ready: true`, or 503 naming each problem. */
export interface Readiness {
  ready: boolean;
  /** One line per problem, naming the stage and what to do; empty when ready. */
  problems: string[];
  /** The status read (serve), or null when Redis did not answer or for a worker. */
  status: StatusReport | null;
}

/** Consumers of each stage's group, as XINFO CONSUMERS tells (none when it has no group). */
export type StageConsumers = Record<StageName, ConsumerInfo[]>;

/**
 * How long a consumer of a stage with work may stay silent before it is taken for gone:
 * a live one reads new entries within `blockMs`, and its janitor claims stuck ones after
 * `claimIdleMs` (Redis 7.0 counts a blocked XREADGROUP as idle, so a quiet stage proves
 * nothing; only a stage with work does).
 */
export function silentAfterMs(stage: StageDefinition): number {
  return 2 * stage.claimIdleMs + stage.janitorIntervalMs;
}

/**
 * Judges the stages of a partition: every group exists; a group with work (lag or pending)
 * has a live consumer; lag and pending stay under `health.maxLag` and `health.maxPending`.
 * With more than one partition, each problem names its partition.
 */
export function assess(
  report: Pick<PartitionStatus, "stages"> & { partition?: number },
  pipeline: Pipeline,
  consumers?: StageConsumers,
): string[] {
  const { health } = pipeline;
  const split = pipeline.partitions > 1 && report.partition !== undefined;
  const where = split ? `partition ${report.partition}, ` : "";
  const only = split ? ` --partitions ${report.partition}` : "";
  const problems: string[] = [];
  for (const name of STAGE_NAMES) {
    const s = report.stages[name];
    if (!s.group_exists) {
      problems.push(
        `${where}stage '${name}': group '${s.group}' of ${s.stream} does not exist; no worker ever ran it (start switchboard worker or serve)`,
      );
      continue;
    }
    const waiting = (s.lag ?? 0) + s.pending;
    const silence = silentAfterMs(pipeline.stages[name]);
    const live = consumers?.[name].some((c) => c.idleMs <= silence) ?? s.consumers > 0;
    if (waiting > 0 && !live) {
      const why =
        s.consumers === 0
          ? "no consumer"
          : `no live consumer (${s.consumers} silent for over ${Math.round(silence / 1000)} s)`;
      problems.push(
        `${where}stage '${name}': ${waiting} entries waiting (lag ${s.lag ?? "?"}, pending ${s.pending}) and ${why}; start a worker for it (switchboard worker --stages ${name}${only})`,
      );
    }
    if (s.lag !== null && s.lag > health.maxLag) {
      problems.push(
        `${where}stage '${name}': lag ${s.lag} over health.maxLag ${health.maxLag}; add workers for it or find what slows it`,
      );
    }
    if (s.pending > health.maxPending) {
      problems.push(
        `${where}stage '${name}': ${s.pending} entries pending over health.maxPending ${health.maxPending}; its consumers read but do not acknowledge`,
      );
    }
  }
  return problems;
}

/** The readiness of the whole pipeline, for `serve`: one round trip. */
export async function clusterReadiness(source: StatusSource): Promise<Readiness> {
  const { redis, keys, pipeline } = source;
  try {
    const read = sendAndRead(redis, (batch) => {
      const status = queueStatus(batch, source, Date.now());
      const at = batch.length;
      for (const p of allPartitions(pipeline.partitions)) {
        for (const name of STAGE_NAMES) {
          const { stream, group } = pipeline.stages[name];
          batch.xinfo("CONSUMERS", keys.forPartition(p).stream(stream), group);
        }
      }
      return (replies): Readiness => {
        const report = status(replies);
        const problems = report.partitions.flatMap((partition) => {
          const first = at + partition.partition * STAGE_NAMES.length;
          const consumers = Object.fromEntries(
            STAGE_NAMES.map((name, i) => [name, parseConsumers(replies[first + i]?.[1])]),
          ) as StageConsumers;
          return assess(partition, pipeline, consumers);
        });
        return { ready: problems.length === 0, problems, status: report };
      };
    });
    return await withinTime(read, pipeline.health.redisTimeoutMs);
  } catch (error) {
    return { ready: false, problems: [redisProblem(error)], status: null };
  }
}

/**
 * The readiness of a worker process, which is serving probes only while its stages run:
 * Redis answers and the groups of its stages exist.
 */
export async function workerReadiness(
  source: StatusSource,
  stages: readonly StageName[],
): Promise<Readiness> {
  const { redis, keys, pipeline } = source;
  try {
    const partitions = allPartitions(pipeline.partitions);
    const streams = partitions.flatMap((p) =>
      stages.map((name) => ({
        p,
        name,
        stream: keys.forPartition(p).stream(pipeline.stages[name].stream),
      })),
    );
    const replies = sendCommands(redis, (batch) => {
      batch.ping();
      for (const { stream } of streams) batch.xinfo("GROUPS", stream);
    });
    const [pong, ...groups] = await withinTime(replies, pipeline.health.redisTimeoutMs);
    reply(pong!);
    const problems = streams.flatMap(({ name, stream }, i) => {
      const { group } = pipeline.stages[name];
      const [error, value] = groups[i]!;
      const exists = error === null && parseGroups(value).some((g) => g.name === group);
      return exists ? [] : [`stage '${name}': group '${group}' of ${stream} does not exist`];
    });
    return { ready: problems.length === 0, problems, status: null };
  } catch (error) {
    return { ready: false, problems: [redisProblem(error)], status: null };
  }
}

function redisProblem(error: unknown): string {
  return `redis: ${toErrorInfo(error).message}`;
}

/** The promise's value, or an error once `ms` have passed (the command connection waits for Redis). */
export async function withinTime<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
