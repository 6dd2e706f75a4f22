import type { RedisClient } from "../redis/client.js";
import type { Pipeline } from "../config/pipeline.js";
import { categoryOf, severityOf, type ErrorCategory } from "../protocol/errors.js";
import type { Keys } from "../redis/keys.js";
import { streamIdTime } from "../redis/stream-ids.js";
import { Partitions } from "../streams/partitions.js";
import { adviceFor } from "./advice.js";

/**
 * Reads the error history (a capped stream per partition; each entry's id is its time)
 * and counts it over sliding windows, every partition together: by category, code and
 * stage, the agents and webhook endpoints that fail most, and what to do about each code
 * seen. The counts do not depend on the order errors are read in, so the partitions are
 * read one after the other; their lengths and dead letters are summed.
 */

/** Entries read per XREVRANGE. */
const PAGE = 1000;

/** The windows counted when none are named: 5 minutes, an hour, a day. */
export const DEFAULT_WINDOWS: readonly ErrorWindow[] = [
  { label: "5m", ms: 300_000 },
  { label: "1h", ms: 3_600_000 },
  { label: "24h", ms: 86_400_000 },
];

export interface ErrorWindow {
  label: string;
  ms: number;
}

/** One row: a category, code, stage, agent or endpoint, and its errors per window label. */
export interface Breakdown {
  name: string;
  counts: Record<string, number>;
}

export interface CodeAdvice {
  code: string;
  category: ErrorCategory;
  severity: string;
  /** Errors with this code in the longest window. */
  count: number;
  advice: string;
}

export interface ErrorReport {
  at: string;
  /** Shortest first. */
  windows: (ErrorWindow & { total: number })[];
  by_category: Breakdown[];
  by_code: Breakdown[];
  by_stage: Breakdown[];
  top_agents: Breakdown[];
  top_endpoints: Breakdown[];
  /** For each code seen in the longest window, most frequent first. */
  advice: CodeAdvice[];
  /** Dead letters in the store, over every partition. */
  dead_letters: number;
  history: {
    /** The stream (with partitions, partition 0's: each has its own, tagged `{p<n>}`). */
    stream: string;
    /** How many partitions (streams) the history is spread over. */
    partitions: number;
    /** Errors kept, over every partition. */
    length: number;
    /** Each partition's history keeps this many errors at most (`errors.history.maxLen`). */
    max_length: number;
    oldest_at: string | null;
    /**
     * Every error since this time is kept: the latest oldest error of the partitions whose
     * history is full; null when none is (the history then holds every error).
     */
    complete_since: string | null;
  };
}

export interface ReportOptions {
  windows?: readonly ErrorWindow[];
  /** Rows of the agent and endpoint tables. */
  top?: number;
  now?: number;
}

/** Counts per window, for one dimension. */
class Tallies {
  readonly #rows = new Map<string, number[]>();
  constructor(readonly windows: number) {}

  add(name: string | undefined, within: readonly boolean[]): void {
    if (name === undefined || name === "") return;
    const counts = this.#rows.get(name) ?? new Array<number>(this.windows).fill(0);
    within.forEach((inside, i) => (counts[i]! += inside ? 1 : 0));
    this.#rows.set(name, counts);
  }

  /** Most errors in the longest window first, then in the shorter ones, then by name. */
  rows(labels: readonly string[], top = Infinity): Breakdown[] {
    const byCount = (a: number[], b: number[]) => {
      for (let i = a.length - 1; i >= 0; i--) if (a[i] !== b[i]) return b[i]! - a[i]!;
      return 0;
    };
    return [...this.#rows]
      .sort(([x, a], [y, b]) => byCount(a, b) || x.localeCompare(y))
      .slice(0, top)
      .map(([name, counts]) => ({
        name,
        counts: Object.fromEntries(labels.map((label, i) => [label, counts[i] ?? 0])),
      }));
  }
}

export async function readErrorReport(
  redis: RedisClient,
  keys: Keys,
  pipeline: Pipeline,
  options: ReportOptions = {},
): Promise<ErrorReport> {
  const now = options.now ?? Date.now();
  const windows = [...(options.windows ?? DEFAULT_WINDOWS)].sort((a, b) => a.ms - b.ms);
  const labels = windows.map((w) => w.label);
  const longest = windows.at(-1)?.ms ?? 0;
  const dims = ["category", "code", "stage", "agent", "endpoint"] as const;
  const tallies = Object.fromEntries(dims.map((d) => [d, new Tallies(windows.length)])) as Record<
    (typeof dims)[number],
    Tallies
  >;
  const totals = new Array<number>(windows.length).fill(0);
  const count = (id: string, flat: readonly string[]) => {
    const age = now - streamIdTime(id);
    const within = windows.map((w) => age <= w.ms);
    const f = fieldsOf(flat);
    const code = f.code ?? "INTERNAL";
    within.forEach((inside, i) => (totals[i]! += inside ? 1 : 0));
    tallies.code.add(code, within);
    tallies.category.add(f.cat ?? categoryOf(code), within);
    tallies.stage.add(f.stage, within);
    tallies.agent.add(f.agent, within);
    tallies.endpoint.add(f.endpoint, within);
  };
  // A window longer than the epoch: from time 0.
  const since = String(Math.max(0, now - longest));
  const partitions = new Partitions(keys, pipeline.partitions).all;
  const kept = [];
  for (const own of partitions) {
    await readHistory(redis, own.errors(), since, count);
    kept.push(await keptOf(redis, own, pipeline));
  }
  const top = options.top ?? 10;
  const longestLabel = labels.at(-1) ?? "";
  const byCode = tallies.code.rows(labels);
  return {
    at: new Date(now).toISOString(),
    windows: windows.map((w, i) => ({ ...w, total: totals[i] ?? 0 })),
    by_category: tallies.category.rows(labels),
    by_code: byCode,
    by_stage: tallies.stage.rows(labels),
    top_agents: tallies.agent.rows(labels, top),
    top_endpoints: tallies.endpoint.rows(labels, top),
    advice: byCode.map(({ name, counts }) => ({
      code: name,
      category: categoryOf(name),
      severity: severityOf(name),
      count: counts[longestLabel] ?? 0,
      advice: adviceFor(name),
    })),
    dead_letters: sum(kept.map((k) => k.deadLetters)),
    history: {
      stream: keys.forPartition(0).errors(),
      partitions: partitions.length,
      length: sum(kept.map((k) => k.length)),
      max_length: pipeline.errors.history.maxLen,
      oldest_at: isoOf(Math.min(...kept.map((k) => k.oldest ?? Infinity))),
      complete_since: isoOf(Math.max(...kept.map((k) => (k.full ? k.oldest! : -Infinity)))),
    },
  };
}

/** Calls `count` on each error of one partition's history from `since`, newest first. */
async function readHistory(
  redis: RedisClient,
  stream: string,
  since: string,
  count: (id: string, flat: readonly string[]) => void,
): Promise<void> {
  let end = "+";
  for (;;) {
    const page = await redis.xrevrange(stream, end, since, "COUNT", PAGE);
    for (const [id, flat] of page) count(id, flat);
    const last = page.at(-1);
    if (last === undefined || page.length < PAGE) return;
    end = `(${last[0]}`;
  }
}

/** What one partition keeps: its history's length, oldest error (ms) and fullness, its dead letters. */
async function keptOf(redis: RedisClient, keys: Keys, pipeline: Pipeline) {
  const [length, oldest, deadLetters] = await Promise.all([
    redis.xlen(keys.errors()),
    redis.xrange(keys.errors(), "-", "+", "COUNT", 1),
    redis.xlen(keys.stream(pipeline.deadLetters.stream)),
  ]);
  const oldestMs = oldest[0] === undefined ? undefined : streamIdTime(oldest[0][0]);
  return {
    length,
    oldest: oldestMs,
    full: oldestMs !== undefined && length >= pipeline.errors.history.maxLen,
    deadLetters,
  };
}

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

/** A time as ISO 8601; null for none (±Infinity). */
const isoOf = (ms: number): string | null =>
  Number.isFinite(ms) ? new Date(ms).toISOString() : null;

function fieldsOf(flat: readonly string[]): Record<string, string | undefined> {
  const out = Object.create(null) as Record<string, string>;
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}
