import type { RedisClient as Redis } from "../redis/client.js";
import type { Keys } from "../redis/keys.js";
import { lua, Script } from "../redis/script.js";

/**
 * Takes a partition's lease for a worker, or renews it when the worker holds it already.
 *
 * KEYS[1]     the lease; KEYS[2] the epoch counter (same slot)
 * ARGV[1]     the worker; ARGV[2] how long the lease lasts, ms
 * returns     the lease's value ("EPOCH WORKER") when the worker holds it, else false
 */
export const acquireLeaseScript = new Script<
  { lease: string; epoch: string; worker: string; leaseMs: number },
  string | null
>(
  "sbAcquireLease",
  lua`
local current = redis.call('GET', KEYS[1])
if current then
  if string.sub(current, -(#ARGV[1] + 1)) ~= ' ' .. ARGV[1] then
    return false
  end
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return current
end
local value = redis.call('INCR', KEYS[2]) .. ' ' .. ARGV[1]
redis.call('SET', KEYS[1], value, 'PX', ARGV[2])
return value
`,
  (p) => ({ keys: [p.lease, p.epoch], args: [p.worker, p.leaseMs] }),
);

/**
 * Renews (ms > 0) or gives up (ms = 0) a lease, only while it holds this very value.
 *
 * KEYS[1]     the lease
 * ARGV[1]     the value held; ARGV[2] the new lifetime, ms (0: release)
 * returns     1 when held, 0 when lost
 */
export const keepLeaseScript = new Script<{ lease: string; value: string; ms: number }, 0 | 1>(
  "sbKeepLease",
  lua`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if ARGV[2] == '0' then
  redis.call('DEL', KEYS[1])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1
`,
  (p) => ({ keys: [p.lease], args: [p.value, p.ms] }),
);

/**
 * One partition's lease as one worker holds it: the value is the fencing token the commit
 * script checks, and `valid` says whether it is still safe to act on (a margin before the
 * lease would expire, counted from the last renewal sent).
 */
export class Lease {
  readonly partition: number;
  readonly value: string;
  readonly #redis: Redis;
  readonly #key: string;
  readonly #leaseMs: number;
  #validUntil: number;

  constructor(redis: Redis, keys: Keys, value: string, leaseMs: number, since: number) {
    this.#redis = redis;
    this.#key = keys.owner();
    this.partition = keys.partition;
    this.value = value;
    this.#leaseMs = leaseMs;
    this.#validUntil = since + leaseMs / 2;
  }

  /** Takes the lease of a partition; undefined when another worker holds it. */
  static async acquire(
    redis: Redis,
    keys: Keys,
    worker: string,
    leaseMs: number,
  ): Promise<Lease | undefined> {
    const since = Date.now();
    const value = await acquireLeaseScript.run(redis, {
      lease: keys.owner(),
      epoch: keys.ownerEpoch(),
      worker,
      leaseMs,
    });
    return value === null ? undefined : new Lease(redis, keys, value, leaseMs, since);
  }

  get fence(): { lease: string; value: string } {
    return { lease: this.#key, value: this.value };
  }

  valid(now = Date.now()): boolean {
    return now < this.#validUntil;
  }

  /** Renews the lease; false when it was lost (expired and taken, or released). */
  async renew(): Promise<boolean> {
    const since = Date.now();
    const held = await keepLeaseScript.run(this.#redis, {
      lease: this.#key,
      value: this.value,
      ms: this.#leaseMs,
    });
    if (held === 1) this.#validUntil = since + this.#leaseMs / 2;
    else this.#validUntil = 0;
    return held === 1;
  }

  async release(): Promise<void> {
    this.#validUntil = 0;
    await keepLeaseScript.run(this.#redis, { lease: this.#key, value: this.value, ms: 0 });
  }
}
