import type { Redis } from "ioredis";
import type { Pipeline } from "../config/pipeline.js";
import type { Keys } from "../redis/keys.js";
import type { Endpoint } from "./endpoint.js";

export type BreakerState = "closed" | "open" | "half_open";

/** What `acquire` answers: go ahead (maybe as the probe), or wait until a time. */
export type Permit =
  { go: true; probe: boolean } | { go: false; state: BreakerState; until: number };

export interface BreakerView {
  /** The endpoint as shown: origin and path, never the query string (see {@link endpointOf}). */
  endpoint: string;
  /** The hash of the endpoint's normalized URL that keys its breaker. */
  id: string;
  state: BreakerState;
  failures: number;
  /** Open: when the probe may go; half-open: when the probe's lease ends. Epoch ms. */
  until: number | null;
  last_failure: number | null;
}

/**
 * Circuit breakers per webhook endpoint (its URL, see {@link endpointOf}), shared by every
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

  async acquire(endpoint: Endpoint, now = Date.now()): Promise<Permit> {
    const [state, until] = await this.#call("acquire", endpoint, now);
    if (state === "closed" || state === "probe") return { go: true, probe: state === "probe" };
    return { go: false, state: state as BreakerState, until: Number(until) };
  }

  /** Records a call's result; returns the state it left the breaker in. */
  async record(endpoint: Endpoint, ok: boolean, now = Date.now()): Promise<BreakerState> {
    // Sent together, in the order the results came: a failure that waited for its own
    // round trip would reach the breaker after later successes and bunch with others.
    const [[state]] = await Promise.all([
      this.#call(ok ? "success" : "failure", endpoint, now),
      ok ? undefined : this.#redis.hset(this.#keys.breakers(), endpoint.hash, endpoint.label),
    ]);
    return state as BreakerState;
  }

  /**
   * Every endpoint that has failed lately, with its breaker. Endpoints whose breaker has
   * expired (a day without calls) are forgotten on the way.
   */
  async list(): Promise<BreakerView[]> {
    const endpoints = Object.entries(await this.#redis.hgetall(this.#keys.breakers()));
    const batch = this.#redis.pipeline();
    for (const [id] of endpoints) batch.hgetall(this.#keys.breaker(id));
    const replies = (await batch.exec()) ?? [];
    const expired = endpoints.flatMap(([id], i) => {
      const [error, hash] = replies[i] ?? [new Error("no reply")];
      return error === null && Object.keys(hash as object).length === 0 ? [id] : [];
    });
    if (expired.length > 0) await this.#redis.hdel(this.#keys.breakers(), ...expired);
    return endpoints
      .map(([id, endpoint], i): BreakerView | undefined => {
        const hash = replies[i]?.[1] as Record<string, string> | undefined;
        if (hash === undefined || hash.state === undefined) return undefined;
        return {
          endpoint,
          id,
          state: hash.state as BreakerState,
          failures: Number(hash.failures ?? 0),
          until: hash.state === "closed" ? null : Number(hash.until),
          last_failure: hash.last_failure === undefined ? null : Number(hash.last_failure),
        };
      })
      .filter((b): b is BreakerView => b !== undefined)
      .sort((a, b) => a.endpoint.localeCompare(b.endpoint));
  }

  #call(op: string, endpoint: Endpoint, now: number): Promise<[string, number]> {
    const { breaker, timeoutMs } = this.#config;
    return this.#redis.sbBreaker(
      1,
      this.#keys.breaker(endpoint.hash),
      op,
      now,
      breaker.failureThreshold,
      breaker.cooldownMs,
      2 * timeoutMs,
      endpoint.label,
    );
  }
}
