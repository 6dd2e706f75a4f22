import type { Redis } from "ioredis";
import type { Pipeline } from "../config/pipeline.js";
import { SwitchboardError } from "../protocol/errors.js";
import type { Keys } from "../redis/keys.js";

/** Tokens one send takes, whatever its target: a broadcast or a capability send is one send. */
const TOKENS_PER_SEND = 1;

/**
 * Each agent's send rate (`limits.sendRate`): a token bucket in Redis, in the agent's hash
 * slot, shared by every front end (MCP over HTTP and stdio, the CLI's `send`), so an agent
 * cannot send faster by spreading its sends over processes. One script call per send.
 */
export class SendRate {
  readonly #redis: Redis;
  readonly #keys: Keys;
  readonly #rate: Pipeline["limits"]["sendRate"];

  constructor(redis: Redis, keys: Keys, pipeline: Pipeline) {
    this.#redis = redis;
    this.#keys = keys;
    this.#rate = pipeline.limits.sendRate;
  }

  /** Takes one send from the agent's bucket; the milliseconds to wait when it is empty, else 0. */
  take(agent: string): Promise<number> {
    const { perSecond, burst } = this.#rate;
    return this.#redis.sbTakeTokens(
      1,
      this.#keys.sendRate(agent),
      perSecond,
      burst,
      TOKENS_PER_SEND,
    );
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
