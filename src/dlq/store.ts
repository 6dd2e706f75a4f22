import type { Redis } from "ioredis";
import type { Pipeline } from "../config/pipeline.js";
import { decodeStored, readStoredEnvelopes, type StoredEnvelope } from "../history/record.js";
import { Field, ORIGINAL_PREFIX, parseEntries, text, type StreamEntry } from "../streams/entry.js";
import type { Envelope } from "../protocol/envelope.js";
import type { ErrorInfo } from "../protocol/errors.js";
import type { Keys } from "../redis/keys.js";
import { parseStreamId } from "../redis/stream-ids.js";
import {
  attemptsOf,
  byTimeOnly,
  errorOf,
  matches,
  originalOf,
  summarize,
  type DeadLetterFilter,
  type DeadLetterSummary,
  type FailedAttempt,
} from "./entry.js";
import {
  addUp,
  noPurges,
  noReplays,
  type PurgeOutcome,
  type PurgeResult,
  type ReplayOutcome,
  type ReplayResult,
  type Tally,
} from "./results.js";
import { messageIdsOf, purgeLetters } from "./purge.js";
import { replayLetters } from "./replay.js";
import { checkIds, named, resolveIds, targetsOf, type Resolved } from "./resolve.js";

/** Entries read per XREVRANGE while scanning. */
const SCAN_PAGE = 500;
/** Dead letters replayed (or purged) per script call. */
const ACT_BATCH = 100;
/** Default page of {@link DeadLetters.list}. */
export const DEFAULT_LIST_LIMIT = 20;

/** One dead letter in full: the summary, the last error, the attempts, the envelope. */
export interface DeadLetter extends DeadLetterSummary {
  why: ErrorInfo;
  history: FailedAttempt[];
  /** The message, from the dead letter or its record; absent when neither holds it any more. */
  envelope?: Envelope | undefined;
  /** The stage entry replay appends again. */
  original: Record<string, string>;
}

export interface DeadLetterPage {
  /** Newest first. */
  dead_letters: DeadLetterSummary[];
  /** Pass as `after` for the next page; null at the end. */
  next_cursor: string | null;
}

/** Where a scan starts, and how many entries it reads per round trip. */
interface Scan {
  now: number;
  /** Continue after (older than) this id. */
  after?: string | undefined;
  pageSize?: number;
}

/**
 * The dead-letter store: one capped stream per partition of everything that gave up
 * (poison entries, exhausted retries), newest last. Lists read it newest first with
 * filters; replay appends a dead letter's original entry to the stream of the stage it
 * died in, once (`replay.ts`); purge deletes (`purge.ts`).
 */
export class DeadLetters {
  readonly stream: string;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly pipeline: Pipeline,
  ) {
    this.stream = keys.stream(pipeline.deadLetters.stream);
  }

  /** How many dead letters the store holds. */
  depth(): Promise<number> {
    return this.redis.xlen(this.stream);
  }

  /** A page of dead letters matching the filter, newest first. */
  async list(
    filter: DeadLetterFilter,
    options: { limit?: number; after?: string | undefined; now?: number } = {},
  ): Promise<DeadLetterPage> {
    const limit = options.limit ?? DEFAULT_LIST_LIMIT;
    const found: DeadLetterSummary[] = [];
    // One more than asked shows whether a next page exists.
    const pageSize = byTimeOnly(filter) ? limit + 1 : SCAN_PAGE;
    for await (const page of this.select(filter, { ...options, pageSize })) {
      found.push(...page);
      if (found.length > limit) break;
    }
    const deadLetters = found.slice(0, limit);
    return {
      dead_letters: deadLetters,
      next_cursor: found.length > limit ? (deadLetters.at(-1)?.id ?? null) : null,
    };
  }

  /** How many dead letters match the filter. */
  async count(filter: DeadLetterFilter, now = Date.now()): Promise<number> {
    const everything =
      byTimeOnly(filter) && filter.olderThanMs === undefined && filter.newerThanMs === undefined;
    if (everything) return this.depth();
    let n = 0;
    for await (const page of this.select(filter, { now })) n += page.length;
    return n;
  }

  /**
   * Every dead letter matching the filter, newest first, in pages (never all at once).
   * Dead letters added meanwhile are newer than where the scan began, so it never sees
   * them: replaying what it yields cannot loop.
   */
  async *select(
    filter: DeadLetterFilter,
    scan: Partial<Scan> = {},
  ): AsyncGenerator<DeadLetterSummary[]> {
    const now = scan.now ?? Date.now();
    const pageSize = scan.pageSize ?? SCAN_PAGE;
    let end = upperBound(filter, { now, after: scan.after });
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

  /** One dead letter in full; undefined when there is none with this id. */
  async get(id: string): Promise<DeadLetter | undefined> {
    checkIds([id], "id");
    const [entry] = parseEntries(await this.redis.xrangeBuffer(this.stream, id, id));
    if (entry === undefined) return undefined;
    return {
      ...summarize(entry),
      why: errorOf(entry),
      history: attemptsOf(entry),
      envelope: await this.#envelopeOf(entry),
      original: originalOf(entry),
    };
  }

  /**
   * What each id names: a dead-letter id itself, a message id its dead letters (through
   * the index by message id, never a scan).
   */
  resolve(ids: readonly string[], field = "ids"): Promise<Resolved[]> {
    return resolveIds(this.redis, this.keys, this.stream, ids, field);
  }

  /**
   * Replays each dead letter once: see {@link ReplayResult}. Takes dead-letter ids and
   * message ids; a message id replays each of its dead letters (and reports those replayed
   * before as `already_replayed`), its results naming it as `message_id`.
   */
  async replay(ids: readonly string[], now = Date.now()): Promise<ReplayResult[]> {
    const targets = await targetsOf(this, ids, true);
    const live = targets.filter((t) => !t.none).map((t) => t.id);
    const done = new Map<string, ReplayResult>();
    for (let i = 0; i < live.length; i += ACT_BATCH) {
      const batch = live.slice(i, i + ACT_BATCH);
      const results = await replayLetters(this.redis, this.keys, this.pipeline, batch, now);
      for (const result of results) done.set(result.id, result);
    }
    return targets.map((t) =>
      named(t, t.none ? { id: t.id, result: "not_found" } : done.get(t.id)!),
    );
  }

  /** Deletes dead letters for good; takes dead-letter ids and message ids, as `replay`. */
  async purge(ids: readonly string[]): Promise<PurgeResult[]> {
    const targets = await targetsOf(this, ids, false);
    const direct = targets.filter((t) => !t.none && t.message_id === undefined).map((t) => t.id);
    const messageIds = await messageIdsOf(this.redis, this.stream, direct);
    const purged = await purgeLetters(
      this.redis,
      this.keys,
      this.stream,
      targets
        .filter((t) => !t.none)
        .map((t) => ({ id: t.id, message_id: t.message_id ?? messageIds.get(t.id) })),
    );
    return targets.map((t) =>
      named(
        t,
        t.none ? { id: t.id, result: "not_found" } : { id: t.id, result: purged.get(t.id)! },
      ),
    );
  }

  /** Replays every dead letter matching the filter; `progress` hears the tally per batch. */
  replayAll(
    filter: DeadLetterFilter,
    progress?: (tally: Tally<ReplayOutcome>) => void,
    now = Date.now(),
  ): Promise<Tally<ReplayOutcome>> {
    const act = (page: DeadLetterSummary[]) =>
      this.replay(
        page.map((d) => d.id),
        now,
      );
    return this.#forAll(filter, noReplays(), act, progress, now);
  }

  /** Purges every dead letter matching the filter; `progress` hears the tally per batch. */
  purgeAll(
    filter: DeadLetterFilter,
    progress?: (tally: Tally<PurgeOutcome>) => void,
    now = Date.now(),
  ): Promise<Tally<PurgeOutcome>> {
    const act = async (page: DeadLetterSummary[]) =>
      [...(await purgeLetters(this.redis, this.keys, this.stream, page)).values()].map(
        (result) => ({ result }),
      );
    return this.#forAll(filter, noPurges(), act, progress, now);
  }

  async #forAll<R extends string>(
    filter: DeadLetterFilter,
    tally: Tally<R>,
    act: (page: DeadLetterSummary[]) => Promise<{ result: R }[]>,
    progress: ((tally: Tally<R>) => void) | undefined,
    now: number,
  ): Promise<Tally<R>> {
    for await (const page of this.select(filter, { now })) {
      for (let i = 0; i < page.length; i += ACT_BATCH) {
        addUp(tally, await act(page.slice(i, i + ACT_BATCH)));
        progress?.({ ...tally });
      }
    }
    return tally;
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
 * The newest id a scan may return: before the cursor, and old enough for `olderThanMs`
 * (an age past the epoch selects from time 0); undefined when nothing can be older than
 * the cursor (`0-0`, which Redis refuses as an exclusive end).
 */
function upperBound(filter: DeadLetterFilter, scan: Scan): string | undefined {
  const cutoff =
    filter.olderThanMs === undefined ? undefined : Math.max(0, scan.now - filter.olderThanMs);
  if (scan.after === undefined) return cutoff === undefined ? "+" : String(cutoff);
  checkIds([scan.after], "after");
  const after = parseStreamId(scan.after);
  if (after.ms === 0n && after.seq === 0n) return undefined;
  return cutoff === undefined || after.ms <= BigInt(cutoff) ? `(${scan.after}` : String(cutoff);
}
