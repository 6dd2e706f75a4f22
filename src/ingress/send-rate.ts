import type { RedisClient } from "../redis/client.js";
import type { Pipeline } from "../config/pipeline.js";
import { SwitchboardError } from "../protocol/errors.js";
import type { Keys } from "../redis/keys.js";
import { lua, luaNowMs, Script } from "../redis/script.js";

/** Tokens one send takes, whatever its target: a broadcast or a capability send is one send. */
const TOKENS_PER_SEND = 1;

interface TakeTokensParams {
  /** The bucket (a hash), in the sender's slot. */
  bucket: string;
  /** Tokens back per second. */
  rate: number;
  /** The most tokens the bucket holds. */
  burst: number;
  /** The tokens this send takes. */
  cost: number;
}

/**
 * Takes tokens from a sender's token bucket, refilled continuously at `rate` per second
 * up to `burst`, by Redis's clock (so every front end agrees). A refusal changes nothing.
 * The bucket expires once it would be full again: an idle sender costs no memory.
 *
 * KEYS[1]     the bucket (hash: tokens, at), in the sender's slot
 * ARGV[1]     rate, tokens per second; ARGV[2] burst, the most tokens held;
 * ARGV[3]     the tokens this send takes
 * returns     0 taken; else the milliseconds until enough tokens are back (at least 1)
 */
export const takeTokensScript = new Script<TakeTokensParams, number>(
  "sbTakeTokens",
  lua`
local rate, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
${luaNowMs}
local held = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(held[1]) or burst, tonumber(held[2]) or now
if now > at then
  tokens = math.min(burst, tokens + (now - at) * rate / 1000)
  at = now
end
if tokens < cost then
  return math.max(1, math.ceil((cost - tokens) * 1000 / rate))
end
tokens = tokens - cost
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', at)
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) * 1000 / rate) + 1000)
return 0
`,
  (p) => ({ keys: [p.bucket], args: [p.rate, p.burst, p.cost] }),
);

/**
 * Each agent's send rate (`limits.sendRate`): a token bucket in Redis, in the agent's hash
 * slot, shared by every front end (MCP over HTTP and stdio, the CLI's `send`), so an agent
 * cannot send faster by spreading its sends over processes. One script call per send.
 */
export class SendRate {
  readonly #redis: RedisClient;
  readonly #keys: Keys;
  readonly #rate: Pipeline["limits"]["sendRate"];

  constructor(redis: RedisClient, keys: Keys, pipeline: Pipeline) {
    this.#redis = redis;
    this.#keys = keys;
    this.#rate = pipeline.limits.sendRate;
  }

  /** Takes one send from the agent's bucket; the milliseconds to wait when it is empty, else 0. */
  take(agent: string): Promise<number> {
    const { perSecond, burst } = this.#rate;
    return takeTokensScript.run(this.#redis, {
      bucket: this.#keys.sendRate(agent),
      rate: perSecond,
      burst,
      cost: TOKENS_PER_SEND,
    });
  }

  /** RATE_LIMITED for an agent that must wait `waitMs`, with the wait in words and as data. */
  refusal(agent: string, waitMs: number): SwitchboardError {
    const { perSecond, burst } = this.#rate;
    const seconds = Math.ceil(waitMs) / 1000;
    return new SwitchboardError(
      "RATE_LIMITED",
      `'${agent}' sends faster than ${perSecond} messages per second (bursts of ${burst}); ` +
        `retry after ${seconds} s (retry_after_seconds), and send less often: batch, or use a topic`,
      { data: { retry_after_seconds: seconds } },
    );
  }
}
