import type { RedisClient as Redis } from "../redis/client.js";
import type { Pipeline, StageDefinition } from "../config/pipeline.js";
import { decideFailure } from "./failure-decision.js";
import { toErrorInfo, type ErrorInfo } from "../protocol/errors.js";
import { readConsumers } from "../redis/info.js";
import type { Keys } from "../redis/keys.js";
import "../redis/buffer-commands.js";
import { trimAcknowledged } from "../redis/trim.js";
import type { Logger } from "../telemetry/log.js";
import type { Committer } from "./commit.js";
import type { FailureSink } from "./ports.js";
import { parseEntries, type StreamEntry } from "../streams/entry.js";
import { deleteConsumer } from "../streams/groups.js";

/** XAUTOCLAIM rounds per tick, so one tick stays short however large the backlog. */
const MAX_CLAIM_ROUNDS = 10;

export interface JanitorOptions {
  redis: Redis;
  keys: Keys;
  pipeline: Pipeline;
  stage: StageDefinition;
  committer: Committer;
  /** The consumer that takes claimed entries over. */
  consumer: string;
  /** Consumers of this process, never removed as gone. */
  ownConsumers: ReadonlySet<string>;
  /** Hands claimed entries to the stage's handler. */
  process: (entries: StreamEntry[]) => Promise<void>;
  failures: FailureSink;
  log: Logger;
}

export interface JanitorCounters {
  claimed: number;
  deadLettered: number;
  consumersRemoved: number;
  trimmed: number;
}

/**
 * Periodic upkeep of one stage's stream, off the read path: takes over entries that
 * dead consumers left pending, dead-letters poison, removes gone consumers and trims
 * what every group has acknowledged.
 */
export class Janitor {
  readonly counters: JanitorCounters = {
    claimed: 0,
    deadLettered: 0,
    consumersRemoved: 0,
    trimmed: 0,
  };
  readonly #o: JanitorOptions;
  readonly #stream: string;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(options: JanitorOptions) {
    this.#o = options;
    this.#stream = options.keys.stream(options.stage.stream);
  }

  start(): void {
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  /** One pass of every chore; errors are logged, never thrown. */
  async tick(): Promise<void> {
    const chores: [string, () => Promise<void>][] = [
      ["claimIdle", () => this.claimIdle()],
      ["removeGoneConsumers", () => this.removeGoneConsumers()],
      ["trim", () => this.trim()],
    ];
    for (const [chore, run] of chores) {
      if (this.#stopped) return;
      try {
        await run();
      } catch (error) {
        this.#o.log.warn("janitor chore failed", { chore, error: toErrorInfo(error) });
      }
    }
  }

  #schedule(): void {
    if (this.#stopped) return;
    const interval = this.#o.stage.janitorIntervalMs;
    const delay = interval / 2 + Math.random() * interval; // spread processes apart
    this.#timer = setTimeout(() => {
      this.#running = this.tick().finally(() => this.#schedule());
    }, delay);
    this.#timer.unref();
  }

  /** Takes over entries idle past `claimIdleMs`; poison goes to the dead letters. */
  async claimIdle(): Promise<void> {
    const { redis, stage, consumer } = this.#o;
    let cursor = "0-0";
    for (let round = 0; round < MAX_CLAIM_ROUNDS && !this.#stopped; round++) {
      const reply = await redis.xautoclaimBuffer(
        this.#stream,
        stage.group,
        consumer,
        stage.claimIdleMs,
        cursor,
        "COUNT",
        stage.batchSize,
      );
      cursor = reply[0].toString();
      const entries = parseEntries(reply[1]);
      if (entries.length > 0) await this.#handOver(entries);
      if (cursor === "0-0") return;
    }
  }

  async #handOver(entries: StreamEntry[]): Promise<void> {
    const { stage, pipeline, committer, log } = this.#o;
    this.counters.claimed += entries.length;
    const deliveries = await this.#deliveryCounts(entries);
    const live: StreamEntry[] = [];
    const poison: StreamEntry[] = [];
    let error: ErrorInfo | undefined;
    for (const entry of entries) {
      const decision = decideFailure(pipeline, stage, {
        kind: "redelivered",
        deliveries: deliveries.get(entry.id) ?? 0,
      });
      if (decision.kind === "retry") {
        live.push(entry);
      } else {
        poison.push(entry); // a stage's poison has one error: past its maxDeliveries
        error = decision.error;
      }
    }
    if (error !== undefined) {
      const moved = await committer.deadLetter(poison, deliveries, error);
      this.counters.deadLettered += moved;
      for (const entry of poison) {
        this.#o.failures.failed(stage.name, entry, error);
        this.#o.failures.deadLettered(stage.name, entry, error);
      }
      log.warn("dead-lettered poison entries", { count: moved, ids: poison.map((e) => e.id) });
    }
    if (live.length > 0) await this.#o.process(live);
  }

  async #deliveryCounts(entries: StreamEntry[]): Promise<Map<string, number>> {
    const { redis, stage, consumer } = this.#o;
    const reply = (await redis.xpending(
      this.#stream,
      stage.group,
      entries[0]!.id,
      entries[entries.length - 1]!.id,
      entries.length,
      consumer,
    )) as [string, string, number, number][];
    return new Map(reply.map(([id, , , count]) => [id, Number(count)]));
  }

  /** Removes consumers that hold nothing and have not read for a long while. */
  async removeGoneConsumers(): Promise<void> {
    const { redis, stage, ownConsumers } = this.#o;
    const goneAfterMs = Math.max(stage.claimIdleMs, 3 * stage.blockMs);
    const consumers = await readConsumers(redis, this.#stream, stage.group);
    for (const c of consumers) {
      if (c.pending === 0 && c.idleMs > goneAfterMs && !ownConsumers.has(c.name)) {
        await deleteConsumer(redis, this.#stream, stage.group, c.name);
        this.counters.consumersRemoved += 1;
      }
    }
  }

  /** Trims what every group acknowledged past retention; caps the dead letters. */
  async trim(): Promise<void> {
    const { redis, stage, pipeline, keys } = this.#o;
    this.counters.trimmed += await trimAcknowledged(redis, this.#stream, stage.retention.maxAgeMs);
    await redis.xtrim(
      keys.stream(pipeline.deadLetters.stream),
      "MAXLEN",
      "~",
      pipeline.deadLetters.maxLen,
    );
  }
}
