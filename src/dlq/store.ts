import type { RedisClient } from "../redis/client.js";
import type { Pipeline } from "../config/pipeline.js";
import { formatDeadLetterId, parseDeadLetterId } from "../protocol/dead-letter-id.js";
import type { Keys } from "../redis/keys.js";
import { Partitions } from "../streams/partitions.js";
import { byTimeOnly, type DeadLetterFilter, type DeadLetterSummary } from "./entry.js";
import {
  newestFirst,
  PartitionLetters,
  SCAN_PAGE,
  type DeadLetter,
  type Placed,
} from "./partition.js";
import { messageIdsOf, purgeLetters } from "./purge.js";
import { replayLetters } from "./replay.js";
import { named, refOf, resolveIds, targetsOf, type Resolved, type Target } from "./resolve.js";
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

export type { DeadLetter } from "./partition.js";

/** Dead letters replayed (or purged) per script call. */
const ACT_BATCH = 100;
/** Default page of {@link DeadLetters.list}. */
export const DEFAULT_LIST_LIMIT = 20;

export interface DeadLetterPage {
  /** Newest first (on a tie of entry ids, the lower partition first). */
  dead_letters: DeadLetterSummary[];
  /** Pass as `after` for the next page; null at the end. */
  next_cursor: string | null;
}

/**
 * The dead-letter store: one capped stream per partition of everything that gave up
 * (poison entries, exhausted retries), newest last. Lists merge the partitions newest
 * first with filters; replay appends a dead letter's original entry to the stream of the
 * stage it died in, in its own partition, once (`replay.ts`); purge deletes (`purge.ts`).
 * Ids name their partition when there are several (protocol/dead-letter-id.ts).
 */
export class DeadLetters {
  readonly #parts: readonly PartitionLetters[];

  constructor(
    private readonly redis: RedisClient,
    keys: Keys,
    private readonly pipeline: Pipeline,
  ) {
    this.#parts = new Partitions(keys, pipeline.partitions).all.map(
      (own) => new PartitionLetters(redis, own, pipeline),
    );
  }

  /** The id users see of entry `entry` of partition `partition`. */
  #id(partition: number, entry: string): string {
    return formatDeadLetterId({ partition, entry }, this.#parts.length);
  }

  #named<S extends { id: string }>({ partition, summary }: { partition: number; summary: S }): S {
    return { ...summary, id: this.#id(partition, summary.id) };
  }

  /** How many dead letters the store holds, over every partition. */
  async depth(): Promise<number> {
    const depths = await Promise.all(this.#parts.map((part) => part.depth()));
    return depths.reduce((a, b) => a + b, 0);
  }

  /**
   * A page of dead letters matching the filter, newest first over every partition. The
   * cursor is the last id shown; each partition goes on from it (a partition listed after
   * the cursor's on a tie, with it), so no page skips or repeats one.
   */
  async list(
    filter: DeadLetterFilter,
    options: { limit?: number; after?: string | undefined; now?: number } = {},
  ): Promise<DeadLetterPage> {
    const limit = options.limit ?? DEFAULT_LIST_LIMIT;
    const now = options.now ?? Date.now();
    const cursor =
      options.after === undefined ? undefined : refOf(options.after, this.#parts.length, "after");
    // One more than asked shows whether a next page exists.
    const pageSize = byTimeOnly(filter) ? limit + 1 : SCAN_PAGE;
    const perPartition = await Promise.all(
      this.#parts.map(async (part, partition) => {
        const found: Placed<DeadLetterSummary>[] = [];
        const scan = {
          now,
          pageSize,
          after: cursor?.entry,
          inclusive: cursor !== undefined && partition > cursor.partition,
        };
        for await (const page of part.select(filter, scan)) {
          found.push(...page.map((summary) => ({ partition, summary })));
          if (found.length > limit) break;
        }
        return found;
      }),
    );
    const found = perPartition.flat().sort(newestFirst);
    const deadLetters = found.slice(0, limit).map((placed) => this.#named(placed));
    return {
      dead_letters: deadLetters,
      next_cursor: found.length > limit ? (deadLetters.at(-1)?.id ?? null) : null,
    };
  }

  /** How many dead letters match the filter, over every partition. */
  async count(filter: DeadLetterFilter, now = Date.now()): Promise<number> {
    const everything =
      byTimeOnly(filter) && filter.olderThanMs === undefined && filter.newerThanMs === undefined;
    if (everything) return this.depth();
    let n = 0;
    for (const part of this.#parts)
      for await (const page of part.select(filter, { now })) n += page.length;
    return n;
  }

  /** One dead letter in full; undefined when there is none with this id. */
  async get(id: string): Promise<DeadLetter | undefined> {
    const { partition, entry } = refOf(id, this.#parts.length, "id");
    const found = await this.#parts[partition]!.get(entry);
    return found === undefined ? undefined : this.#named({ partition, summary: found });
  }

  /**
   * What each id names: a dead-letter id itself (as the store names it), a message id its
   * dead letters in every partition, oldest first (through the index by message id, never
   * a scan).
   */
  resolve(ids: readonly string[], field = "ids"): Promise<Resolved[]> {
    return resolveIds(this.redis, this.#parts, ids, field);
  }

  /**
   * Replays each dead letter once, into the stages of its own partition: see
   * {@link ReplayResult}. Takes dead-letter ids and message ids; a message id replays each
   * of its dead letters (and reports those replayed before as `already_replayed`), its
   * results naming it as `message_id`.
   */
  async replay(ids: readonly string[], now = Date.now()): Promise<ReplayResult[]> {
    const targets = await targetsOf(this, ids, true);
    const done = new Map<string, ReplayResult>();
    for (const [partition, own] of this.#byPartition(targets)) {
      for (let i = 0; i < own.length; i += ACT_BATCH) {
        const batch = own.slice(i, i + ACT_BATCH).map((t) => t.entry);
        const part = this.#parts[partition]!;
        for (const result of await replayLetters(
          this.redis,
          part.keys,
          this.pipeline,
          batch,
          now,
        )) {
          const named = this.#named({ partition, summary: result });
          done.set(named.id, named);
        }
      }
    }
    return targets.map((t) =>
      named(t, t.none ? { id: t.id, result: "not_found" } : done.get(t.id)!),
    );
  }

  /** Deletes dead letters for good; takes dead-letter ids and message ids, as `replay`. */
  async purge(ids: readonly string[]): Promise<PurgeResult[]> {
    const targets = await targetsOf(this, ids, false);
    const done = new Map<string, PurgeOutcome>();
    for (const [partition, own] of this.#byPartition(targets)) {
      const part = this.#parts[partition]!;
      const direct = own.filter((t) => t.message_id === undefined).map((t) => t.entry);
      const messageIds = await messageIdsOf(this.redis, part.stream, direct);
      const letters = own.map((t) => ({
        id: t.entry,
        message_id: t.message_id ?? messageIds.get(t.entry),
      }));
      for (const [entry, result] of await purgeLetters(
        this.redis,
        part.keys,
        part.stream,
        letters,
      )) {
        done.set(this.#id(partition, entry), result);
      }
    }
    return targets.map((t) =>
      named(t, { id: t.id, result: t.none ? "not_found" : done.get(t.id)! }),
    );
  }

  /** The targets that are dead letters, by partition, each with its entry id. */
  #byPartition(targets: readonly Target[]): Map<number, (Target & { entry: string })[]> {
    const out = new Map<number, (Target & { entry: string })[]>();
    for (const t of targets) {
      if (t.none) continue;
      const { partition, entry } = parseDeadLetterId(t.id)!;
      out.set(partition, [...(out.get(partition) ?? []), { ...t, entry }]);
    }
    return out;
  }

  /** Replays every dead letter matching the filter; `progress` hears the tally per batch. */
  replayAll(
    filter: DeadLetterFilter,
    progress?: (tally: Tally<ReplayOutcome>) => void,
    now = Date.now(),
  ): Promise<Tally<ReplayOutcome>> {
    const act = (part: PartitionLetters, page: DeadLetterSummary[]) =>
      replayLetters(
        this.redis,
        part.keys,
        this.pipeline,
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
    const act = async (part: PartitionLetters, page: DeadLetterSummary[]) =>
      [...(await purgeLetters(this.redis, part.keys, part.stream, page)).values()].map(
        (result) => ({ result }),
      );
    return this.#forAll(filter, noPurges(), act, progress, now);
  }

  /**
   * Acts on every dead letter matching the filter, a partition at a time. A scan never
   * sees what was dead-lettered after it began, so replaying what it yields cannot loop.
   */
  async #forAll<R extends string>(
    filter: DeadLetterFilter,
    tally: Tally<R>,
    act: (part: PartitionLetters, page: DeadLetterSummary[]) => Promise<{ result: R }[]>,
    progress: ((tally: Tally<R>) => void) | undefined,
    now: number,
  ): Promise<Tally<R>> {
    for (const part of this.#parts) {
      for await (const page of part.select(filter, { now })) {
        for (let i = 0; i < page.length; i += ACT_BATCH) {
          addUp(tally, await act(part, page.slice(i, i + ACT_BATCH)));
          progress?.({ ...tally });
        }
      }
    }
    return tally;
  }
}
