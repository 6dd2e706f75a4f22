import type { Redis } from "ioredis";
import type { Pipeline, StageName } from "../config/pipeline.js";
import type { Keys } from "../redis/keys.js";
import { Failures } from "../failures/sink.js";
import { Queues } from "../retry/queues.js";
import { Pusher } from "../webhook/push.js";
import { Committer } from "../pipeline/commit.js";
import type { Logger } from "../telemetry/log.js";
import { WorkerHeartbeat } from "../pipeline/heartbeat.js";
import { processConsumerName, StageRunner } from "../pipeline/runner.js";
import { ensureGroups } from "../streams/groups.js";
import type { StageFactory } from "../pipeline/stage.js";

export interface WorkerOptions {
  url: string;
  redis: Redis;
  keys: Keys;
  pipeline: Pipeline;
  stages: readonly StageName[];
  factories: Readonly<Record<StageName, StageFactory>>;
  log: Logger;
}

/** Runs any subset of the stages in this process; any number of processes may do the same. */
export class Worker {
  readonly runners: StageRunner[];
  readonly failures: Failures;
  readonly #o: WorkerOptions;
  readonly #queues: Queues;
  readonly #pusher: Pusher | undefined;
  readonly #heartbeat: WorkerHeartbeat;

  constructor(options: WorkerOptions) {
    this.#o = options;
    const { url, redis, keys, pipeline, log } = options;
    this.#queues = new Queues(url, keys, log);
    this.failures = new Failures(redis, keys, pipeline, log);
    const consumerBase = processConsumerName();
    this.#heartbeat = new WorkerHeartbeat({
      redis,
      keys,
      stages: options.stages,
      name: consumerBase,
      log,
    });
    if (options.stages.includes("deliver")) {
      const stage = pipeline.stages.deliver;
      this.#pusher = new Pusher({
        redis,
        keys,
        pipeline,
        stage,
        queues: this.#queues,
        committer: new Committer(redis, keys, pipeline, stage),
        failures: this.failures,
        log: log.child({ stage: "deliver" }),
      });
    }
    this.runners = options.stages.map(
      (stage) =>
        new StageRunner(
          {
            url: options.url,
            redis: options.redis,
            keys: options.keys,
            pipeline: options.pipeline,
            stage,
            factory: options.factories[stage],
            log: options.log,
            queues: this.#queues,
            failures: this.failures,
          },
          consumerBase,
        ),
    );
  }

  async start(): Promise<void> {
    await ensureGroups(this.#o.redis, this.#o.keys, this.#o.pipeline);
    for (const runner of this.runners) runner.start();
    this.#pusher?.start();
    await this.#heartbeat.start();
    this.#o.log.info("worker started", { stages: this.#o.stages });
  }

  /** Graceful stop of every stage; in-flight batches are committed first. */
  async stop(): Promise<void> {
    await this.#heartbeat.stop();
    await Promise.all(this.runners.map((runner) => runner.stop()));
    await this.#queues.close();
    await this.failures.history.flush();
    this.#o.log.info("worker stopped", { stages: this.#o.stages });
  }
}
