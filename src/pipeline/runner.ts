import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { Cluster } from "ioredis";
import type { RedisClient } from "../redis/client.js";
import type { Pipeline, StageDefinition, StageName } from "../config/pipeline.js";
import { toErrorInfo } from "../protocol/errors.js";
import { reconnectDelay } from "../redis/connection.js";
import { readConsumers } from "../redis/info.js";
import type { Keys } from "../redis/keys.js";
import { connectTarget, type RedisTarget } from "../redis/target.js";
import "../redis/buffer-commands.js";
import type { Logger } from "../telemetry/log.js";
import { stageBatch } from "../telemetry/record.js";
import { Committer } from "./commit.js";
import { parseEntries, type StreamEntry } from "../streams/entry.js";
import { deleteConsumer, ensureGroup } from "../streams/groups.js";
import { Janitor } from "./janitor.js";
import type { FailureSink, RetryResolver, RetryResolverFactory } from "./ports.js";
import type { Outcome, StageFactory, StageHandler, WebhookPushes } from "./stage.js";
import { traceBatch } from "./tracing.js";
import type { Lease } from "../streams/lease.js";

export interface RunnerOptions {
  /** Where Redis is, for the connections opened besides `redis`. */
  target: RedisTarget;
  /** The process's shared command connection, with the scripts defined. */
  redis: RedisClient;
  keys: Keys;
  pipeline: Pipeline;
  stage: StageName;
  factory: StageFactory;
  log: Logger;
  failures: FailureSink;
  /** The stage's retry path (the policy table and its queue). */
  retries: RetryResolverFactory;
  webhooks: WebhookPushes;
  /**
   * The partition's lease, when this process owns it (`ordering: thread`): one consumer
   * loop, which first takes over what the previous owner left pending, acts only while
   * the lease is valid, and commits only while it holds it (the fencing token).
   */
  lease?: Lease | undefined;
}

export interface RunnerCounters {
  read: number;
  acknowledged: number;
  retried: number;
}

/** A name unique to this process: host, pid and a random tag (pids repeat in containers). */
export function processConsumerName(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs one stage: `concurrency` consumer loops, each with a blocking connection of its
 * own, reading batches with XREADGROUP, handing them to the handler and committing the
 * outcomes atomically; plus a janitor for idle entries, gone consumers and retention.
 */
export class StageRunner {
  readonly counters: RunnerCounters = { read: 0, acknowledged: 0, retried: 0 };
  readonly stage: StageDefinition;
  readonly janitor: Janitor;
  readonly #o: RunnerOptions;
  readonly #stream: string;
  readonly #handler: StageHandler;
  readonly #committer: Committer;
  readonly #retries: RetryResolver;
  readonly #consumers: string[];
  readonly #readers = new Map<string, { redis: RedisClient; clientId?: number }>();
  #loops: Promise<void>[] = [];
  #stopping = false;

  constructor(options: RunnerOptions, consumerBase: string = processConsumerName()) {
    this.#o = options;
    this.stage = options.pipeline.stages[options.stage];
    this.#stream = options.keys.stream(this.stage.stream);
    const log = options.log.child({ stage: this.stage.name });
    this.#handler = options.factory({
      redis: options.redis,
      keys: options.keys,
      pipeline: options.pipeline,
      stage: this.stage,
      log,
      now: Date.now,
      webhooks: options.webhooks,
    });
    const { lease } = options;
    this.#committer = new Committer(
      options.redis,
      options.keys,
      options.pipeline,
      this.stage,
      lease && (() => lease.fence),
    );
    this.#retries = options.retries({
      stage: this.stage,
      handler: this.#handler,
      committer: this.#committer,
      log,
    });
    this.#consumers = Array.from(
      { length: lease === undefined ? this.stage.concurrency : 1 },
      (_, i) => `${consumerBase}-${this.stage.name}-${i}`,
    );
    this.janitor = new Janitor({
      redis: options.redis,
      keys: options.keys,
      pipeline: options.pipeline,
      stage: this.stage,
      committer: this.#committer,
      consumer: this.#consumers[0]!,
      ownConsumers: new Set(this.#consumers),
      process: (entries) => this.process(entries),
      failures: options.failures,
      log,
    });
  }

  start(): void {
    this.#loops = this.#consumers.map((consumer) => this.#loop(consumer));
    this.janitor.start();
    this.#retries.start();
  }

  /**
   * Stops reading, lets in-flight batches finish and commit, closes the readers and
   * removes this process's consumers from the group when they hold nothing pending.
   */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    await this.janitor.stop();
    await Promise.all([...this.#readers.values()].map((r) => this.#unblock(r.clientId)));
    await Promise.all(this.#loops);
    await this.#removeIdleOwnConsumers();
  }

  /**
   * Handles a batch, applies the policy table to its failures and commits the outcomes. A
   * handler that throws leaves the batch pending: handed out again after `claimIdleMs`, up to
   * `maxDeliveries`, then dead-lettered as poison.
   */
  async process(entries: StreamEntry[]): Promise<void> {
    const batch = stageBatch(this.stage.name);
    const trace = traceBatch(this.stage, entries, this.#o.log); // a span per entry; see tracing.ts
    let outcomes: Outcome[];
    try {
      outcomes = await this.#retries.resolve(entries, await this.#handler.handle(entries));
    } catch (error) {
      this.#o.log.error("stage handler failed; entries stay pending for redelivery", {
        stage: this.stage.name,
        error: toErrorInfo(error),
        count: entries.length,
      });
      outcomes = entries.map(() => ({ kind: "retry", error: toErrorInfo(error) }));
    }
    this.counters.retried += outcomes.filter((o) => o.kind === "retry").length;
    this.counters.acknowledged += await trace.ended(
      this.#committer.commit(entries, trace.stamp(outcomes)),
      outcomes,
    );
    batch.done(outcomes);
  }

  async #loop(consumer: string): Promise<void> {
    const { target, log } = this.#o;
    const reader = connectTarget(target, "reader", `switchboard:${consumer}`);
    const slot: { redis: RedisClient; clientId?: number } = { redis: reader };
    this.#readers.set(consumer, slot);
    // On a cluster the read blocks on the stream's master, which CLIENT ID and UNBLOCK
    // cannot be sent to by name: stopping waits out the read's block (`blockMs`) instead.
    if (!(reader instanceof Cluster)) {
      reader.on("ready", () => {
        reader.client("ID").then(
          (id) => (slot.clientId = id),
          () => undefined,
        );
      });
    }
    reader.on("error", () => undefined); // reconnection is handled; failures surface below
    let failures = 0;
    let takenOver = this.#o.lease === undefined;
    while (!this.#stopping) {
      try {
        if (this.#o.lease?.valid() === false) {
          await sleep(this.stage.blockMs);
          continue;
        }
        if (!takenOver) takenOver = await this.#takeOver(consumer);
        const entries = await this.#read(reader, consumer);
        failures = 0;
        if (entries.length > 0) {
          this.counters.read += entries.length;
          await this.process(entries);
        }
      } catch (error) {
        if (this.#stopping) break;
        failures += 1;
        const info = toErrorInfo(error);
        if (info.message.includes("NOGROUP")) await this.#ensureGroup();
        log.warn("read failed; retrying", {
          stage: this.stage.name,
          consumer,
          error: info,
          failures,
        });
        await sleep(reconnectDelay(failures));
      }
    }
    reader.disconnect();
  }

  async #read(reader: RedisClient, consumer: string): Promise<StreamEntry[]> {
    const reply = await reader.xreadgroupBuffer(
      "GROUP",
      this.stage.group,
      consumer,
      "COUNT",
      this.stage.batchSize,
      "BLOCK",
      this.stage.blockMs,
      "STREAMS",
      this.#stream,
      ">",
    );
    return reply === null ? [] : parseEntries(reply[0]?.[1]);
  }

  /**
   * A new owner's first step: every entry the group holds pending (the previous owner's
   * unfinished batches) is claimed by this consumer and handled, oldest first, before any
   * new entry is read, so a thread's messages keep their order across the handover.
   */
  async #takeOver(consumer: string): Promise<true> {
    const { redis } = this.#o;
    let cursor = "0-0";
    do {
      const reply = await redis.xautoclaimBuffer(
        this.#stream,
        this.stage.group,
        consumer,
        0,
        cursor,
        "COUNT",
        this.stage.batchSize,
      );
      cursor = reply[0].toString();
      const entries = parseEntries(reply[1]);
      if (entries.length > 0) await this.process(entries);
    } while (cursor !== "0-0" && !this.#stopping);
    return true;
  }

  async #ensureGroup(): Promise<void> {
    await ensureGroup(this.#o.redis, this.#stream, this.stage.group);
  }

  async #unblock(clientId: number | undefined): Promise<void> {
    if (clientId === undefined) return;
    try {
      await this.#o.redis.client("UNBLOCK", clientId);
    } catch {
      // the reader is gone already
    }
  }

  async #removeIdleOwnConsumers(): Promise<void> {
    const { redis } = this.#o;
    try {
      const consumers = await readConsumers(redis, this.#stream, this.stage.group);
      for (const c of consumers) {
        if (c.pending === 0 && this.#consumers.includes(c.name)) {
          await deleteConsumer(redis, this.#stream, this.stage.group, c.name);
        }
      }
    } catch (error) {
      this.#o.log.warn("could not remove consumers at shutdown", { error: toErrorInfo(error) });
    }
  }
}
