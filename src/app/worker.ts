import type { Redis } from "ioredis";
import type { Pipeline, StageName } from "../config/pipeline.js";
import type { Keys } from "../redis/keys.js";
import type { Logger } from "../telemetry/log.js";
import { processConsumerName } from "../pipeline/runner.js";
import type { StageFactory } from "../pipeline/stage.js";
import { allPartitions, checkPartitionCount } from "../streams/partitions.js";
import { PartitionWorker } from "./partition-worker.js";

export interface WorkerOptions {
  url: string;
  redis: Redis;
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
 */
export class Worker {
  readonly #o: WorkerOptions;
  readonly #partitions: readonly number[];
  readonly #parts: PartitionWorker[];

  constructor(options: WorkerOptions) {
    this.#o = options;
    const { keys, pipeline } = options;
    this.#partitions = options.partitions ?? allPartitions(pipeline.partitions);
    const consumer = processConsumerName();
    this.#parts = this.#partitions.map(
      (partition) =>
        new PartitionWorker({
          ...options,
          keys: keys.forPartition(partition),
          consumer,
          log: pipeline.partitions === 1 ? options.log : options.log.child({ partition }),
        }),
    );
  }

  /** Refuses a pipeline whose partition count differs from the one the data is laid out in. */
  async start(): Promise<void> {
    await checkPartitionCount(this.#o.redis, this.#o.keys, this.#o.pipeline);
    await Promise.all(this.#parts.map((part) => part.start()));
    this.#o.log.info("worker started", {
      stages: this.#o.stages,
      partitions: this.#partitions,
    });
  }

  /** Graceful stop of every stage; in-flight batches are committed first. */
  async stop(): Promise<void> {
    await Promise.all(this.#parts.map((part) => part.stop()));
    this.#o.log.info("worker stopped", { stages: this.#o.stages });
  }
}
