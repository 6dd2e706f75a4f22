import type { RedisClient } from "../redis/client.js";
import type { Registry } from "../agents/registry.js";
import type { Pipeline } from "../config/pipeline.js";
import { toErrorInfo } from "../protocol/errors.js";
import type { Keys } from "../redis/keys.js";
import { trimAcknowledged } from "../redis/trim.js";
import type { Logger } from "../telemetry/log.js";
import type { AgentEvents } from "./agent-events.js";
import type { Leases } from "./leases.js";

/** Inboxes are trimmed (acknowledged mail past retention) every this many sweeps. */
const TRIM_EVERY_SWEEPS = 12;

export interface SweeperDeps {
  redis: RedisClient;
  keys: Keys;
  pipeline: Pipeline;
  registry: Registry;
  events: AgentEvents;
  leases: Leases;
  log: Logger;
}

/**
 * The periodic sweep of a front end: agents' status by timeouts (online, idle, offline),
 * the changes published; every {@link TRIM_EVERY_SWEEPS}th sweep, acknowledged mail past
 * retention trimmed from every inbox; and expired resource leases ended for good, their
 * holders and waiters told. An agent that went offline keeps its leases until they expire.
 */
export class Sweeper {
  readonly #d: SweeperDeps;
  #timer: NodeJS.Timeout | undefined;
  #sweeps = 0;

  constructor(deps: SweeperDeps) {
    this.#d = deps;
  }

  /** Sweeps at jittered intervals (`agents.sweepIntervalMs`), so front ends spread out. */
  start(): void {
    const interval = this.#d.pipeline.agents.sweepIntervalMs;
    const run = async () => {
      try {
        await this.sweep();
      } catch (error) {
        this.#d.log.warn("agent sweep failed", { error: toErrorInfo(error) });
      }
      this.#timer = setTimeout(() => void run(), interval * (0.5 + Math.random()));
      this.#timer.unref();
    };
    this.#timer = setTimeout(() => void run(), interval * Math.random());
    this.#timer.unref();
  }

  async sweep(): Promise<void> {
    const { redis, keys, pipeline, registry, events, leases } = this.#d;
    await events.publish(await registry.sweep());
    await leases.reap();
    if (++this.#sweeps % TRIM_EVERY_SWEEPS === 0) {
      for (const agent of await registry.list()) {
        await trimAcknowledged(redis, keys.inbox(agent.name), pipeline.history.retentionMs);
      }
    }
  }

  stop(): void {
    clearTimeout(this.#timer);
  }
}
