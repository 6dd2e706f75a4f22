import type { RedisClient } from "../redis/client.js";
import type { Pipeline, StageName } from "../config/pipeline.js";
import type { Keys } from "../redis/keys.js";
import type { RedisTarget } from "../redis/target.js";
import type { Logger } from "../telemetry/log.js";
import { processConsumerName } from "../pipeline/runner.js";
import type { StageFactory } from "../pipeline/stage.js";
import type { Lease } from "../streams/lease.js";
import { allPartitions, checkPartitionCount } from "../streams/partitions.js";
import { Ownership } from "./ownership.js";
import { PartitionWorker } from "./partition-worker.js";

export interface WorkerOptions {
  /** Where Redis is, for the connections opened besides `redis`. */
  target: RedisTarget;
  redis: RedisClient;
  keys: Keys;
  pipeline: Pipeline;
  stages: readonly StageName[];
  /** The partitions worked (`--partitions`); every one of the pipeline's when omitted. */
  partitions?: readonly number[] | undefined;
  factories: Readonly<Record<StageName, StageFactory>>;
  log: Logger;
}

/**
 * Runs any subset of the stages, for all of the pipeline's partitions or some of them, in
 * this process; any number of processes may do the same. The composition root of a worker.
 * With `ordering: thread` it runs only the partitions it owns, under their leases.
 */
export class Worker {
  readonly #o: WorkerOptions;
  readonly #partitions: readonly number[];
  readonly #parts: PartitionWorker[] = [];
  readonly #ownership: Ownership | undefined;

  constructor(options: WorkerOptions) {
    this.#o = options;
    const { redis, keys, pipeline, log } = options;
    this.#partitions = options.partitions ?? allPartitions(pipeline.partitions);
    const consumer = processConsumerName();
    const part = (partition: number, lease?: Lease) =>
      new PartitionWorker({
        ...options,
        keys: keys.forPartition(partition),
        consumer,
        lease,
        log: pipeline.partitions === 1 ? log : log.child({ partition }),
      });
    if (pipeline.ordering === "thread") {
      this.#ownership = new Ownership({
        redis,
        keys,
        pipeline,
        partitions: this.#partitions,
        name: consumer,
        part,
        log,
      });
    } else {
      this.#parts = this.#partitions.map((partition) => part(partition));
    }
  }

  /** The partitions this process works now. */
  get partitions(): readonly number[] {
    return this.#ownership?.owned ?? this.#partitions;
  }

  /** Refuses a pipeline whose partition count differs from the one the data is laid out in. */
  async start(): Promise<void> {
    await checkPartitionCount(this.#o.redis, this.#o.keys, this.#o.pipeline);
    await Promise.all(this.#parts.map((part) => part.start()));
    await this.#ownership?.start();
    this.#o.log.info("worker started", {
      stages: this.#o.stages,
      partitions: this.#partitions,
      ordering: this.#o.pipeline.ordering,
    });
  }

  /** Graceful stop of every stage; in-flight batches are committed first. */
  async stop(): Promise<void> {
    await this.#ownership?.stop();
    await Promise.all(this.#parts.map((part) => part.stop()));
    this.#o.log.info("worker stopped", { stages: this.#o.stages });
  }
}
