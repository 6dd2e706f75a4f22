import type { Command } from "commander";
import type { Redis } from "ioredis";
import { STAGE_NAMES, type StageDefinition, type StageName } from "../../config/pipeline.js";
import { parseGroups, type GroupInfo } from "../../redis/info.js";
import type { Keys } from "../../redis/keys.js";
import { globalOptions, withExamples } from "../options.js";
import { withRuntime, type Runtime } from "../runtime.js";
import { formatCount, formatDuration, formatTable } from "../table.js";

export interface StageStatus {
  stream: string;
  group: string;
  /** False until a worker (or serve) created the stage's consumer group. */
  group_exists: boolean;
  length: number;
  /** Entries not yet handed to the group; null when Redis cannot tell (after trims). */
  lag: number | null;
  pending: number;
  consumers: number;
  /** Age of the oldest entry handed out but not acknowledged; null when none is pending. */
  oldest_pending_ms: number | null;
}

export interface StatusReport {
  prefix: string;
  pipeline: string;
  stages: Record<StageName, StageStatus>;
  dead_letters: { stream: string; length: number };
}

/** `switchboard status`: how far behind each stage is. */
export function registerStatus(program: Command): void {
  const command = program
    .command("status")
    .description("show each stage's backlog, lag, pending entries and consumers, and dead letters")
    .option("--json", "print one JSON object")
    .action(showStatus);
  withExamples(command, ["switchboard status", "switchboard status --prefix team1 --json"]);
}

async function showStatus(options: { json?: boolean }, command: Command): Promise<void> {
  const report = await withRuntime(globalOptions(command), readStatus);
  process.stdout.write(
    options.json === true ? `${JSON.stringify(report, null, 2)}\n` : `${formatStatus(report)}\n`,
  );
}

export async function readStatus(runtime: Runtime): Promise<StatusReport> {
  const { redis, keys, pipeline } = runtime;
  const now = Date.now();
  const statuses = await Promise.all(
    STAGE_NAMES.map((name) => readStageStatus(redis, keys, pipeline.stages[name], now)),
  );
  const stages = Object.fromEntries(STAGE_NAMES.map((name, i) => [name, statuses[i]!]));
  const deadStream = keys.stream(pipeline.deadLetters.stream);
  return {
    prefix: keys.prefix,
    pipeline: pipeline.source,
    stages: stages as Record<StageName, StageStatus>,
    dead_letters: { stream: deadStream, length: await redis.xlen(deadStream) },
  };
}

async function readStageStatus(
  redis: Redis,
  keys: Keys,
  stage: StageDefinition,
  now: number,
): Promise<StageStatus> {
  const stream = keys.stream(stage.stream);
  const [length, groups] = await Promise.all([redis.xlen(stream), readGroups(redis, stream)]);
  const group = groups.find((g) => g.name === stage.group);
  const base = { stream, group: stage.group, length };
  if (group === undefined) {
    return {
      ...base,
      group_exists: false,
      lag: 0,
      pending: 0,
      consumers: 0,
      oldest_pending_ms: null,
    };
  }
  return {
    ...base,
    group_exists: true,
    lag: group.lag,
    pending: group.pending,
    consumers: group.consumers,
    oldest_pending_ms: await oldestPendingAge(redis, stream, stage.group, now),
  };
}

/** The stream's consumer groups; none when the stream does not exist yet. */
async function readGroups(redis: Redis, stream: string): Promise<GroupInfo[]> {
  try {
    return parseGroups(await redis.xinfo("GROUPS", stream));
  } catch (error) {
    if (/no such key/i.test((error as Error).message)) return [];
    throw error;
  }
}

/** From the XPENDING summary: the smallest pending id's millisecond part, against now. */
async function oldestPendingAge(
  redis: Redis,
  stream: string,
  group: string,
  now: number,
): Promise<number | null> {
  const [count, minId] = (await redis.xpending(stream, group)) as [number, string | null];
  if (count === 0 || typeof minId !== "string") return null;
  return Math.max(0, now - Number(minId.split("-")[0]));
}

export function formatStatus(report: StatusReport): string {
  const rows = STAGE_NAMES.map((name) => {
    const s = report.stages[name];
    return [
      name,
      s.stream,
      s.group_exists ? s.group : `${s.group} (no group)`,
      formatCount(s.length),
      s.lag === null ? "?" : formatCount(s.lag),
      formatCount(s.pending),
      String(s.consumers),
      s.oldest_pending_ms === null ? "-" : formatDuration(s.oldest_pending_ms),
    ];
  });
  const dead = report.dead_letters;
  rows.push(["dead letters", dead.stream, "-", formatCount(dead.length), "", "", "", ""]);
  const table = formatTable(
    [
      { header: "stage" },
      { header: "stream" },
      { header: "group" },
      { header: "length", align: "right" },
      { header: "lag", align: "right" },
      { header: "pending", align: "right" },
      { header: "consumers", align: "right" },
      { header: "oldest pending", align: "right" },
    ],
    rows,
  );
  return `prefix ${report.prefix}, pipeline ${report.pipeline}\n${table}`;
}
