import { sendCommands } from "../redis/batch.js";
import type { RedisClient } from "../redis/client.js";
import type { StageName } from "../config/pipeline.js";
import { toErrorInfo } from "../protocol/errors.js";
import type { Keys } from "../redis/keys.js";
import type { Logger } from "../telemetry/log.js";

/**
 * How often a worker process says it is alive.
 * @defaultValue 5000
 */
export const WORKER_HEARTBEAT_MS = 5_000;

/**
 * A worker not heard from within this long counts as gone: three heartbeats missed. The
 * sets expire after it too, so a prefix whose workers all stopped keeps no stale set.
 * @defaultValue 15000
 */
export const WORKER_LIVE_MS = 3 * WORKER_HEARTBEAT_MS;

/**
 * Counting live workers from the stage's consumer group does not work: Redis 7.0 creates a
 * consumer only on its first delivery, so two idle workers show as one consumer, or none.
 * Instead each worker process scores its name by the time in one sorted set per stage it
 * runs (`Keys.workers`); `switchboard status` counts the recent scores.
 */
export class WorkerHeartbeat {
  readonly #redis: RedisClient;
  readonly #keys: Keys;
  readonly #stages: readonly StageName[];
  readonly #name: string;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: {
    redis: RedisClient;
    keys: Keys;
    stages: readonly StageName[];
    /** This process's name, unique among workers (its consumer-name base). */
    name: string;
    log: Logger;
  }) {
    this.#redis = options.redis;
    this.#keys = options.keys;
    this.#stages = options.stages;
    this.#name = options.name;
    this.#log = options.log;
  }

  /** Beats now, then every {@link WORKER_HEARTBEAT_MS}. */
  async start(): Promise<void> {
    await this.#beat();
    this.#timer = setInterval(() => void this.#beat(), WORKER_HEARTBEAT_MS);
    this.#timer.unref();
  }

  /** Stops beating and leaves the sets at once, so status stops counting this process. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    try {
      await sendCommands(this.#redis, (batch) => {
        for (const stage of this.#stages) batch.zrem(this.#keys.workers(stage), this.#name);
      });
    } catch (error) {
      this.#log.debug("could not remove the worker heartbeat", { error: toErrorInfo(error) });
    }
  }

  async #beat(): Promise<void> {
    const now = Date.now();
    try {
      await sendCommands(this.#redis, (batch) => {
        for (const stage of this.#stages) {
          const key = this.#keys.workers(stage);
          batch
            .zadd(key, now, this.#name)
            .zremrangebyscore(key, "-inf", now - WORKER_LIVE_MS)
            .pexpire(key, WORKER_LIVE_MS);
        }
      });
    } catch (error) {
      this.#log.debug("worker heartbeat failed", { error: toErrorInfo(error) });
    }
  }
}
