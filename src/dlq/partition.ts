import type { RedisClient } from "../redis/client.js";
import type { Pipeline } from "../config/pipeline.js";
import { decodeStored, readStoredEnvelopes, type StoredEnvelope } from "../history/record.js";
import { Field, ORIGINAL_PREFIX, parseEntries, text, type StreamEntry } from "../streams/entry.js";
import type { Envelope } from "../protocol/envelope.js";
import type { ErrorInfo } from "../protocol/errors.js";
import type { Keys } from "../redis/keys.js";
import { compareStreamIds, parseStreamId } from "../redis/stream-ids.js";
import {
  attemptsOf,
  errorOf,
  matches,
  originalOf,
  summarize,
  type DeadLetterFilter,
  type DeadLetterSummary,
  type FailedAttempt,
} from "./entry.js";

/** Entries read per XREVRANGE while scanning. */
export const SCAN_PAGE = 500;

/** One dead letter in full: the summary, the last error, the attempts, the envelope. */
export interface DeadLetter extends DeadLetterSummary {
  why: ErrorInfo;
  history: FailedAttempt[];
  /** The message, from the dead letter or its record; absent when neither holds it any more. */
  envelope?: Envelope | undefined;
  /** The stage entry replay appends again. */
  original: Record<string, string>;
}

/** Where a scan of one partition starts, and how many entries it reads per round trip. */
export interface Scan {
  now: number;
  /** Continue after (older than) this entry id… */
  after?: string | undefined;
  /** …or with it (a cursor of another partition that is listed first on a tie). */
  inclusive?: boolean;
  pageSize?: number;
}

/** Something named by an entry id (a dead letter, a result), and its partition. */
export interface Placed<S extends { id: string } = { id: string }> {
  partition: number;
  summary: S;
}

/** Newest first; on a tie of entry ids (two partitions), the lower partition first. */
export const newestFirst = (a: Placed, b: Placed): number =>
  compareStreamIds(b.summary.id, a.summary.id) || a.partition - b.partition;

/** Oldest first; on a tie, the lower partition first. */
export const oldestFirst = (a: Placed, b: Placed): number =>
  compareStreamIds(a.summary.id, b.summary.id) || a.partition - b.partition;

/**
 * The dead letters of one partition: its capped stream (newest last), read by entry id.
 * {@link DeadLetters} names them to users and spreads each action over the partitions.
 */
export class PartitionLetters {
  readonly stream: string;

  constructor(
    private readonly redis: RedisClient,
    readonly keys: Keys,
    private readonly pipeline: Pipeline,
  ) {
    this.stream = keys.stream(pipeline.deadLetters.stream);
  }

  depth(): Promise<number> {
    return this.redis.xlen(this.stream);
  }

  /**
   * Every dead letter matching the filter, newest first, in pages (never all at once).
   * Dead letters added meanwhile are newer than where the scan began, so it never sees
   * them: replaying what it yields cannot loop. Summaries carry entry ids.
   */
  async *select(
    filter: DeadLetterFilter,
    scan: Partial<Scan> = {},
  ): AsyncGenerator<DeadLetterSummary[]> {
    const now = scan.now ?? Date.now();
    const pageSize = scan.pageSize ?? SCAN_PAGE;
    let end = upperBound(filter, { ...scan, now });
    if (end === undefined) return;
    const start =
      filter.newerThanMs === undefined ? "-" : String(Math.max(0, now - filter.newerThanMs));
    for (;;) {
      const entries = parseEntries(
        await this.redis.xrevrangeBuffer(this.stream, end, start, "COUNT", pageSize),
      );
      const page = entries.map(summarize).filter((s) => matches(s, filter));
      if (page.length > 0) yield page;
      const last = entries.at(-1);
      if (last === undefined || entries.length < pageSize) return;
      end = `(${last.id}`;
    }
  }

  /** One dead letter in full, by entry id; undefined when there is none. */
  async get(entryId: string): Promise<DeadLetter | undefined> {
    const [entry] = parseEntries(await this.redis.xrangeBuffer(this.stream, entryId, entryId));
    if (entry === undefined) return undefined;
    return {
      ...summarize(entry),
      why: errorOf(entry),
      history: attemptsOf(entry),
      envelope: await this.#envelopeOf(entry),
      original: originalOf(entry),
    };
  }

  /** The envelope the dead letter carries (its own or its entry's), else its message record's. */
  async #envelopeOf(entry: StreamEntry): Promise<Envelope | undefined> {
    const carried = carriedEnvelope(entry, "") ?? carriedEnvelope(entry, ORIGINAL_PREFIX);
    const messageId = text(entry, Field.messageId);
    const stored =
      carried ??
      (messageId === undefined
        ? undefined
        : (await readStoredEnvelopes(this.redis, this.keys, [messageId]))[0]);
    if (stored === undefined) return undefined;
    try {
      return decodeStored(stored, this.pipeline.limits);
    } catch {
      return undefined; // a message refused as malformed may hold no valid envelope
    }
  }
}

function carriedEnvelope(entry: StreamEntry, prefix: string): StoredEnvelope | undefined {
  const data = entry.fields.get(prefix + Field.envelope);
  if (data === undefined) return undefined;
  const enc = entry.fields.get(prefix + Field.encoding)?.toString("utf8") ?? "json";
  return { enc, data, seq: entry.fields.get(prefix + Field.seq) };
}

/**
 * The newest id a scan may return: before the cursor (or at it, `inclusive`), and old
 * enough for `olderThanMs` (an age past the epoch selects from time 0); undefined when
 * nothing can be older than the cursor (`0-0`, which Redis refuses as an exclusive end).
 */
function upperBound(filter: DeadLetterFilter, scan: Scan): string | undefined {
  const cutoff =
    filter.olderThanMs === undefined ? undefined : Math.max(0, scan.now - filter.olderThanMs);
  if (scan.after === undefined) return cutoff === undefined ? "+" : String(cutoff);
  const after = parseStreamId(scan.after);
  const inclusive = scan.inclusive === true;
  if (!inclusive && after.ms === 0n && after.seq === 0n) return undefined;
  if (cutoff !== undefined && after.ms > BigInt(cutoff)) return String(cutoff);
  return inclusive ? scan.after : `(${scan.after}`;
}
