import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import type { Pipeline } from "../config/pipeline.js";
import type { Keys } from "../redis/keys.js";

export type BreakerState = "closed" | "open" | "half_open";

/** What `acquire` answers: go ahead (maybe as the probe), or wait until a time. */
export type Permit =
  { go: true; probe: boolean } | { go: false; state: BreakerState; until: number };

export interface BreakerView {
  endpoint: string;
  state: BreakerState;
  failures: number;
  /** Open: when the probe may go; half-open: when the probe's lease ends. Epoch ms. */
  until: number | null;
  last_failure: number | null;
}

/**
 * Circuit breakers per webhook endpoint (its origin: scheme, host, port), shared by every
 * worker process through Redis, so one failing endpoint is spared by all of them at once.
 */
export class Breakers {
  readonly #redis: Redis;
  readonly #keys: Keys;
  readonly #config: Pipeline["webhooks"];

  constructor(redis: Redis, keys: Keys, pipeline: Pipeline) {
    this.#redis = redis;
    this.#keys = keys;
    this.#config = pipeline.webhooks;
  }

  async acquire(endpoint: string, now = Date.now()): Promise<Permit> {
    const [state, until] = await this.#call("acquire", endpoint, now);
    if (state === "closed" || state === "probe") return { go: true, probe: state === "probe" };
    return { go: false, state: state as BreakerState, until: Number(until) };
  }

  /** Records a call's result; returns the state it left the breaker in. */
  async record(endpoint: string, ok: boolean, now = Date.now()): Promise<BreakerState> {
    // Sent together, in the order the results came: a failure that waited for its own
    // round trip would reach the breaker after later successes and bunch with others.
    const [[state]] = await Promise.all([
      this.#call(ok ? "success" : "failure", endpoint, now),
      ok ? undefined : this.#redis.hset(this.#keys.breakers(), hashOf(endpoint), endpoint),
    ]);
    return state as BreakerState;
  }

  /** Every endpoint that has failed lately, with its breaker. */
  async list(): Promise<BreakerView[]> {
    const endpoints = await this.#redis.hgetall(this.#keys.breakers());
    const batch = this.#redis.pipeline();
    for (const hash of Object.keys(endpoints)) batch.hgetall(this.#keys.breaker(hash));
    const replies = (await batch.exec()) ?? [];
    return Object.entries(endpoints)
      .map(([, endpoint], i): BreakerView | undefined => {
        const hash = replies[i]?.[1] as Record<string, string> | undefined;
        if (hash === undefined || hash.state === undefined) return undefined;
        return {
          endpoint,
          state: hash.state as BreakerState,
          failures: Number(hash.failures ?? 0),
          until: hash.state === "closed" ? null : Number(hash.until),
          last_failure: hash.last_failure === undefined ? null : Number(hash.last_failure),
        };
      })
      .filter((b): b is BreakerView => b !== undefined)
      .sort((a, b) => a.endpoint.localeCompare(b.endpoint));
  }

  #call(op: string, endpoint: string, now: number): Promise<[string, number]> {
    const { breaker, timeoutMs } = this.#config;
    return this.#redis.sbBreaker(
      1,
      this.#keys.breaker(hashOf(endpoint)),
      op,
      now,
      breaker.failureThreshold,
      breaker.cooldownMs,
      2 * timeoutMs,
      endpoint,
    );
  }
}

const hashOf = (endpoint: string): string =>
  createHash("sha256").update(endpoint).digest("hex").slice(0, 32);
