import { Queue } from "bullmq";
import {
  parsePipeline,
  type Pipeline,
  type StageName,
  STAGE_NAMES,
} from "../../src/config/pipeline.js";
import { Ingress } from "../../src/ingress/ingress.js";
import type { StageFactory } from "../../src/pipeline/stage.js";
import { Registry } from "../../src/agents/registry.js";
import { Failures } from "../../src/failures/sink.js";
import { Committer } from "../../src/pipeline/commit.js";
import { Janitor } from "../../src/pipeline/janitor.js";
import { ensureGroup } from "../../src/streams/groups.js";
import { Worker } from "../../src/app/worker.js";
import { composeEnvelope, type SendRequest } from "../../src/protocol/compose.js";
import type { RedisClient } from "../../src/redis/client.js";
import { Keys } from "../../src/redis/keys.js";
import { connectTarget, type RedisTarget } from "../../src/redis/target.js";
import { defineScripts } from "../../src/app/scripts.js";
import { STAGE_FACTORIES } from "../../src/stages/index.js";
import { createLogger, silentLogger } from "../../src/telemetry/log.js";
import { deleteByPrefix, redisUrl, testPrefix } from "./redis.js";

/** A pipeline tuned for tests: short blocks, quick claims, a janitor that runs often. */
export function fastPipeline(document: Record<string, unknown> = {}): Pipeline {
  return parsePipeline(
    {
      version: 1,
      ...document,
      defaults: {
        batchSize: 50,
        blockMs: 100,
        claimIdleMs: 400,
        janitorIntervalMs: 150,
        maxDeliveries: 3,
        ...(document.defaults as object | undefined),
      },
      dedupe: { idempotencyWindowMs: 60_000, deliveryWindowMs: 60_000 },
    },
    "test pipeline",
  );
}

/** One isolated Switchboard: its own key prefix on the shared test Redis. */
export class Harness {
  readonly keys = new Keys(testPrefix());
  readonly redis: RedisClient;
  readonly ingress: Ingress;
  readonly target: RedisTarget;
  readonly #workers: Worker[] = [];

  /** On the shared test Redis, or on another (its URL: one a test kills and restarts), or a cluster. */
  constructor(
    readonly pipeline: Pipeline = fastPipeline(),
    where: string | RedisTarget = redisUrl(),
  ) {
    this.target = typeof where === "string" ? { kind: "single", url: where } : where;
    this.redis = defineScripts(connectTarget(this.target, "command")).on("error", () => undefined);
    this.ingress = new Ingress(this.redis, this.keys, pipeline);
  }

  /** Starts a worker for some stages; factories may be swapped to inject faults. */
  async worker(
    stages: readonly StageName[] = STAGE_NAMES,
    factories: Partial<Record<StageName, StageFactory>> = {},
    partitions?: readonly number[],
  ): Promise<Worker> {
    const worker = new Worker({
      target: this.target,
      redis: this.redis,
      keys: this.keys,
      pipeline: this.pipeline,
      stages,
      partitions,
      factories: { ...STAGE_FACTORIES, ...factories },
      log: process.env.SB_TEST_LOG ? createLogger("debug") : silentLogger,
    });
    await worker.start();
    this.#workers.push(worker);
    return worker;
  }

  get registry(): Registry {
    return new Registry(this.redis, this.keys, this.pipeline);
  }

  /** Registers agents (no capabilities unless given as `name:cap1,cap2`); returns their tokens. */
  async agents(...specs: string[]): Promise<string[]> {
    const tokens = [];
    for (const spec of specs) {
      const [name, caps] = spec.split(":");
      const { token } = await this.registry.register({
        name: name!,
        capabilities: caps === undefined ? [] : caps.split(","),
      });
      tokens.push(token);
    }
    return tokens;
  }

  async send(request: SendRequest): Promise<string> {
    const envelope = composeEnvelope(request);
    await this.ingress.accept(envelope);
    return envelope.id;
  }

  stream(stage: StageName | "dead"): string {
    return this.keys.stream(
      stage === "dead" ? this.pipeline.deadLetters.stream : this.pipeline.stages[stage].stream,
    );
  }

  /** Message ids in an agent's inbox, in order. */
  async inbox(agent: string): Promise<string[]> {
    const entries = await this.redis.xrange(this.keys.inbox(agent), "-", "+");
    return entries.map(([, fields]) => fields[fields.indexOf("mid") + 1]!);
  }

  /** A janitor for one stage with no consumer loops running. */
  janitor(stage: StageName): Janitor {
    const definition = this.pipeline.stages[stage];
    return new Janitor({
      redis: this.redis,
      keys: this.keys,
      pipeline: this.pipeline,
      stage: definition,
      committer: new Committer(this.redis, this.keys, this.pipeline, definition),
      consumer: "janitor",
      ownConsumers: new Set(),
      process: () => Promise.resolve(),
      failures: new Failures(this.redis, this.keys, this.pipeline, silentLogger),
      log: silentLogger,
    });
  }

  /** Reads entries as a consumer that then dies: they stay pending, never acknowledged. */
  async readAndDie(stage: StageName, count: number, consumer = "ghost"): Promise<string[]> {
    const { stream, group } = this.pipeline.stages[stage];
    await ensureGroup(this.redis, this.keys.stream(stream), group);
    const reply = (await this.redis.xreadgroup(
      "GROUP",
      group,
      consumer,
      "COUNT",
      count,
      "STREAMS",
      this.keys.stream(stream),
      ">",
    )) as [string, [string, string[]][]][] | null;
    return (reply?.[0]?.[1] ?? []).map(([id]) => id);
  }

  /** Why each job of a BullMQ queue that failed for good failed. */
  async failedJobs(queue: string): Promise<string[]> {
    const connection = connectTarget(this.target, "reader");
    const reader = new Queue(queue, { connection, prefix: this.keys.queuePrefix() });
    try {
      return (await reader.getFailed()).map((job) => job.failedReason);
    } finally {
      await reader.close();
      connection.disconnect();
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.stop()));
    await deleteByPrefix(this.redis, this.keys.prefix);
    this.redis.disconnect();
  }
}

/** Polls until `check` returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
