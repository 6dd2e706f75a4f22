import { Queue, Worker, type JobsOptions, type Processor, type Telemetry } from "bullmq";
import { BullMQOtel } from "bullmq-otel";
import { STAGE_NAMES, type StageName } from "../config/pipeline.js";
import { toErrorInfo, type ErrorInfo } from "../protocol/errors.js";
import type { RedisClient } from "../redis/client.js";
import type { Keys } from "../redis/keys.js";
import { connectTarget, type RedisTarget } from "../redis/target.js";
import type { Logger } from "../telemetry/log.js";
import { isTracing, withTraceparent } from "../telemetry/spans.js";

/** The queue of webhook deliveries (first tries and retries). */
export const WEBHOOK_QUEUE = "webhooks";

/** The queue of a stage's entries waiting to be tried again. */
export const retryQueueOf = (stage: StageName): string => `retry-${stage}`;

/** Every queue there is, for status and metrics. */
export const QUEUE_NAMES = [WEBHOOK_QUEUE, ...STAGE_NAMES.map(retryQueueOf)];

/**
 * Thrown by a job processor to be retried after `delayMs`, the failure decision's delay:
 * the processor asks for the decision itself, so it can record "retrying, attempt 3 of 8,
 * next at …" before BullMQ schedules it.
 */
export class RetryLater extends Error {
  constructor(
    readonly info: ErrorInfo,
    readonly delayMs: number,
  ) {
    super(`${info.code}: ${info.message}`);
    this.name = "RetryLater";
  }
}

/** The name of the backoff type every Switchboard job uses; see {@link backoffStrategy}. */
const BACKOFF_TYPE = "switchboard";

/**
 * BullMQ's custom backoff: the delay the processor's decision chose. Anything else a
 * processor throws is a write that failed after the decision (Redis trouble): a second on.
 */
function backoffStrategy(_attemptsMade: number, _type?: string, error?: Error): number {
  return error instanceof RetryLater ? error.delayMs : 1000;
}

/** Job options every Switchboard job shares; `attempts` comes from a retry policy. */
export function jobOptions(attempts: number, jobId: string): JobsOptions {
  return {
    jobId,
    attempts,
    backoff: { type: BACKOFF_TYPE },
    // A job that ends is done with: a success is recorded by persist, a failure in the
    // dead letters. Keep a few failed ones for `bullmq` tooling, none completed.
    removeOnComplete: true,
    removeOnFail: { count: 1000 },
  };
}

/**
 * The BullMQ side of a process: producers (one `Queue` per queue name, on a connection that
 * fails fast when Redis is away, so a stage leaves its entry pending rather than hang) and
 * job workers (on connections that wait for Redis forever, as BullMQ requires). All queues
 * share one hash tag (`Keys.queuePrefix`), so they work on a Redis Cluster (BullMQ takes
 * an ioredis `Cluster` as its connection).
 */
export class Queues {
  readonly #target: RedisTarget;
  readonly #prefix: string;
  readonly #log: Logger;
  readonly #queues = new Map<string, Queue>();
  readonly #workers: Worker[] = [];
  readonly #connections: RedisClient[] = [];
  #producer: RedisClient | undefined;

  constructor(target: RedisTarget, keys: Keys, log: Logger) {
    this.#target = target;
    this.#prefix = keys.queuePrefix();
    this.#log = log;
  }

  /** The producer of a queue, made on first use. */
  queue(name: string): Queue {
    let queue = this.#queues.get(name);
    if (queue === undefined) {
      this.#producer ??= connectTarget(this.#target, "producer", "switchboard:queues").on(
        "error",
        () => undefined, // failures surface on the commands
      );
      queue = new Queue(name, {
        connection: this.#producer,
        prefix: this.#prefix,
        telemetry: telemetry(),
      });
      queue.on("error", (error) =>
        this.#log.warn("queue error", { queue: name, error: toErrorInfo(error) }),
      );
      this.#queues.set(name, queue);
    }
    return queue;
  }

  /**
   * Adds jobs, each in the trace context of its entry, so BullMQ's spans for it (with
   * tracing on) belong to the message's trace. One round trip: the adds go in one batch.
   */
  async addEach<T>(
    name: string,
    jobs: readonly { name: string; data: T; opts: JobsOptions; traceparent?: Buffer | undefined }[],
  ): Promise<void> {
    const queue = this.queue(name);
    await Promise.all(
      jobs.map((job) =>
        withTraceparent(job.traceparent, () => queue.add(job.name, job.data, job.opts)),
      ),
    );
  }

  /** Starts processing a queue in this process. */
  work<T>(name: string, processor: Processor<T>, concurrency: number): Worker<T> {
    // Waits for Redis for ever (as BullMQ requires): the `reader` role.
    const connection = connectTarget(this.#target, "reader", `switchboard:jobs:${name}`).on(
      "error",
      () => undefined, // it reconnects; the worker reports what fails
    );
    this.#connections.push(connection);
    const worker = new Worker<T>(name, processor, {
      connection,
      prefix: this.#prefix,
      concurrency,
      settings: { backoffStrategy },
      telemetry: telemetry(),
    });
    worker.on("error", (error) =>
      this.#log.warn("job worker error", { queue: name, error: toErrorInfo(error) }),
    );
    this.#workers.push(worker as Worker);
    return worker;
  }

  /** Lets jobs in progress finish, then closes every connection. */
  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.close()));
    await Promise.all([...this.#queues.values()].map((q) => q.close()));
    for (const connection of this.#connections) connection.disconnect();
    this.#producer?.disconnect();
  }
}

/** BullMQ's own spans (through bullmq-otel) when this process traces; none otherwise. */
function telemetry(): Telemetry | undefined {
  return isTracing() ? new BullMQOtel({ tracerName: "bullmq" }) : undefined;
}
