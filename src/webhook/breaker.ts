import { sendCommands } from "../redis/batch.js";
import type { RedisClient } from "../redis/client.js";
import type { Pipeline } from "../config/pipeline.js";
import type { Keys } from "../redis/keys.js";
import { lua, Script } from "../redis/script.js";
import type { Endpoint } from "./endpoint.js";

export type BreakerState = "closed" | "open" | "half_open";

/** Field names of a breaker's hash, for the script that keeps it and the list that shows it. */
const F = {
  state: "state",
  /** Open: when the probe may go; half-open: when the probe's lease ends. Epoch ms. */
  until: "until",
  /** Consecutive failures. */
  failures: "failures",
  endpoint: "endpoint",
  lastFailure: "last_failure",
  openedAt: "opened_at",
} as const;

interface BreakerParams {
  /** The breaker's hash. */
  breaker: string;
  op: "acquire" | "success" | "failure";
  now: number;
  /** Consecutive failures that open it. */
  threshold: number;
  cooldownMs: number;
  /** How long a probe holds the half-open breaker, ms. */
  probeLeaseMs: number;
  /** The endpoint as shown (origin and path). */
  endpoint: string;
}

/**
 * A webhook endpoint's circuit breaker. Closed: calls go through. After `threshold`
 * consecutive failures it opens for `cooldown`; then one caller gets through as a probe
 * (half-open, for a lease so that a lost probe does not hold it forever): a success
 * closes it, a failure opens it again.
 *
 * KEYS[1]     the breaker (hash)
 * ARGV[1]     'acquire', 'success' or 'failure'; ARGV[2] now, ms; ARGV[3] threshold;
 * ARGV[4]     cool-down, ms; ARGV[5] the probe's lease, ms; ARGV[6] the endpoint as shown
 *             (origin and path)
 * returns     { state, until }: acquire → 'closed' or 'probe' (go ahead), 'open' or
 *             'half_open' (wait until `until`); success/failure → the state now
 */
export const breakerScript = new Script<BreakerParams, [BreakerState | "probe", number]>(
  "sbBreaker",
  lua`
local state = redis.call('HGET', KEYS[1], ${F.state}) or 'closed'
local now = tonumber(ARGV[2])
redis.call('PEXPIRE', KEYS[1], 86400000)
if ARGV[1] == 'acquire' then
  if state == 'closed' then
    return { 'closed', 0 }
  end
  local until_ms = tonumber(redis.call('HGET', KEYS[1], ${F.until}) or '0')
  if now < until_ms then
    return { state, until_ms }
  end
  redis.call('HSET', KEYS[1], ${F.state}, 'half_open', ${F.until}, now + tonumber(ARGV[5]))
  return { 'probe', 0 }
end
if ARGV[1] == 'success' then
  redis.call('HSET', KEYS[1], ${F.state}, 'closed', ${F.failures}, 0, ${F.until}, 0)
  return { 'closed', 0 }
end
local failures = redis.call('HINCRBY', KEYS[1], ${F.failures}, 1)
redis.call('HSET', KEYS[1], ${F.endpoint}, ARGV[6], ${F.lastFailure}, now)
if state == 'half_open' or (state == 'closed' and failures >= tonumber(ARGV[3])) then
  local until_ms = now + tonumber(ARGV[4])
  redis.call('HSET', KEYS[1], ${F.state}, 'open', ${F.until}, until_ms, ${F.openedAt}, now)
  return { 'open', until_ms }
end
return { state, 0 }
`,
  (p) => ({
    keys: [p.breaker],
    args: [p.op, p.now, p.threshold, p.cooldownMs, p.probeLeaseMs, p.endpoint],
  }),
);

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
  readonly #redis: RedisClient;
  readonly #keys: Keys;
  readonly #config: Pipeline["webhooks"];

  constructor(redis: RedisClient, keys: Keys, pipeline: Pipeline) {
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
    const replies = await sendCommands(this.#redis, (batch) => {
      for (const [id] of endpoints) batch.hgetall(this.#keys.breaker(id));
    });
    const expired = endpoints.flatMap(([id], i) => {
      const [error, hash] = replies[i] ?? [new Error("no reply")];
      return error === null && Object.keys(hash as object).length === 0 ? [id] : [];
    });
    if (expired.length > 0) await this.#redis.hdel(this.#keys.breakers(), ...expired);
    return endpoints
      .map(([id, endpoint], i): BreakerView | undefined => {
        const hash = replies[i]?.[1] as Record<string, string> | undefined;
        const state = hash?.[F.state] as BreakerState | undefined;
        if (hash === undefined || state === undefined) return undefined;
        const lastFailure = hash[F.lastFailure];
        return {
          endpoint,
          id,
          state,
          failures: Number(hash[F.failures] ?? 0),
          until: state === "closed" ? null : Number(hash[F.until]),
          last_failure: lastFailure === undefined ? null : Number(lastFailure),
        };
      })
      .filter((b): b is BreakerView => b !== undefined)
      .sort((a, b) => a.endpoint.localeCompare(b.endpoint));
  }

  #call(op: BreakerParams["op"], endpoint: Endpoint, now: number) {
    const { breaker, timeoutMs } = this.#config;
    return breakerScript.run(this.#redis, {
      breaker: this.#keys.breaker(endpoint.hash),
      op,
      now,
      threshold: breaker.failureThreshold,
      cooldownMs: breaker.cooldownMs,
      probeLeaseMs: 2 * timeoutMs,
      endpoint: endpoint.label,
    });
  }
}
