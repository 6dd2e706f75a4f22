import type { RedisClient } from "../redis/client.js";
import type { Pipeline, StageName } from "../config/pipeline.js";
import type { Keys } from "../redis/keys.js";
import type { RedisTarget } from "../redis/target.js";
import { Failures } from "../failures/sink.js";
import { Queues } from "../retry/queues.js";
import { StageRetries } from "../retry/stage-retries.js";
import { Pusher } from "../stages/deliver/push.js";
import { FirstTries } from "../stages/deliver/first-try.js";
import { Committer } from "../pipeline/commit.js";
import type { Logger } from "../telemetry/log.js";
import { WorkerHeartbeat } from "../pipeline/heartbeat.js";
import { StageRunner } from "../pipeline/runner.js";
import { ensureGroups } from "../streams/groups.js";
import type { StageFactory } from "../pipeline/stage.js";
import type { Lease } from "../streams/lease.js";

export interface PartitionWorkerOptions {
  /** Where Redis is, for the connections opened besides `redis`. */
  target: RedisTarget;
  redis: RedisClient;
  /** The keys of the partition worked. */
  keys: Keys;
  pipeline: Pipeline;
  stages: readonly StageName[];
  factories: Readonly<Record<StageName, StageFactory>>;
  /** This process's consumer name (each stage loop adds its own suffix). */
  consumer: string;
  /** The partition's lease, when this process owns it (`ordering: thread`). */
  lease?: Lease | undefined;
  log: Logger;
}

/**
 * The stages of one partition run in this process: a runner per stage (each blocking on a
 * connection of its own), their retry queues and webhook pushes, the partition's failure
 * sink and heartbeat. The runner gets the failure sink, the retry path and the webhook
 * queue as interfaces (`src/pipeline/ports.ts`), built here.
 */
export class PartitionWorker {
  readonly #o: PartitionWorkerOptions;
  readonly #runners: StageRunner[];
  readonly #failures: Failures;
  readonly #queues: Queues;
  readonly #pusher: Pusher | undefined;
  readonly #heartbeat: WorkerHeartbeat;

  constructor(options: PartitionWorkerOptions) {
    this.#o = options;
    const { target, redis, keys, pipeline, log, consumer, lease } = options;
    const fence = lease && (() => lease.fence);
    const queues = (this.#queues = new Queues(target, keys, log));
    const failures = (this.#failures = new Failures(redis, keys, pipeline, log));
    this.#heartbeat = new WorkerHeartbeat({
      redis,
      keys,
      stages: options.stages,
      name: consumer,
      log,
    });
    // Deliver makes a push's first try; the pusher's job worker, the retries.
    const stage = pipeline.stages.deliver;
    const deliverLog = log.child({ stage: "deliver" });
    const pusher = new Pusher({
      redis,
      keys,
      pipeline,
      stage,
      queues,
      committer: new Committer(redis, keys, pipeline, stage, fence),
      failures,
      log: deliverLog,
    });
    if (options.stages.includes("deliver")) this.#pusher = pusher;
    const webhooks = new FirstTries({ pusher, queues, pipeline, stage, failures, log: deliverLog });
    this.#runners = options.stages.map(
      (stage) =>
        new StageRunner(
          {
            target,
            redis,
            keys,
            pipeline,
            stage,
            factory: options.factories[stage],
            log,
            failures,
            retries: (parts) => new StageRetries({ ...parts, pipeline, queues, failures }),
            webhooks,
            lease,
          },
          consumer,
        ),
    );
  }

  async start(): Promise<void> {
    await ensureGroups(this.#o.redis, this.#o.keys, this.#o.pipeline);
    for (const runner of this.#runners) runner.start();
    this.#pusher?.start();
    await this.#heartbeat.start();
  }

  /** Graceful stop of every stage; in-flight batches are committed first. */
  async stop(): Promise<void> {
    await this.#heartbeat.stop();
    await Promise.all(this.#runners.map((runner) => runner.stop()));
    await this.#queues.close();
    await this.#failures.history.flush();
  }
}
