import type { Pipeline } from "../config/pipeline.js";
import { Escalator } from "../failures/escalate.js";
import type { Ingress } from "../ingress/ingress.js";
import { SYSTEM_AGENT } from "../protocol/agent.js";
import { composeEnvelope } from "../protocol/compose.js";
import type { Envelope } from "../protocol/envelope.js";
import { toErrorInfo } from "../protocol/errors.js";
import { breakerName, breakersOf, type Breaker } from "../protocol/loops.js";
import type { RedisClient } from "../redis/client.js";
import type { Keys } from "../redis/keys.js";
import type { Logger } from "../telemetry/log.js";
import { loopDetected, type Held } from "./refusal.js";
import { COUNTED, loopCountScript, TRIPPED, type LoopCountReply } from "./scripts.js";

/** The type of the notice the agents of a tripped breaker get, as for failed messages. */
export const LOOP_NOTICE_TYPE = "switchboard.notice";
/** The most agents a trip's notice names: a message's limit of recipients. */
const MAX_NOTIFIED = 100;

export interface LoopBreakerDeps {
  redis: RedisClient;
  keys: Keys;
  pipeline: Pipeline;
  /** Where the trip notices enter the pipeline. */
  ingress: Ingress;
  log: Logger;
}

/**
 * The loop and storm breaker at the front door (`loops`): each message an agent sends is
 * counted in the sliding windows of its breakers (each pair of sender and named
 * recipient, its thread, and the thread's fan-out messages), one script per breaker in
 * the breaker's own slot, all at once. A message that takes a window over its budget trips
 * that breaker: it is refused with LOOP_DETECTED, and so is every message of the breaker
 * until its hold ends or it is lifted; the agents counted are told, and an alert goes to
 * `switchboard.alerts`. A refused message is taken back out of the windows that counted it.
 */
export class LoopBreaker {
  readonly #d: LoopBreakerDeps;
  readonly #escalator: Escalator;

  constructor(deps: LoopBreakerDeps) {
    this.#d = deps;
    this.#escalator = new Escalator(deps.redis, deps.keys, deps.pipeline, deps.log);
  }

  /** Counts a message about to be accepted; LOOP_DETECTED when a breaker refuses it. */
  async check(envelope: Envelope): Promise<void> {
    const { loops } = this.#d.pipeline;
    if (!loops.enabled || envelope.from === SYSTEM_AGENT) return;
    const { redis, keys } = this.#d;
    const member = `${envelope.id} ${envelope.from}`;
    const breakers = breakersOf(envelope);
    const replies = await Promise.all(
      breakers.map((breaker) => {
        const budget = loops[breaker.rule];
        return loopCountScript.run(redis, {
          window: keys.loopWindow(breaker),
          trip: keys.loopTrip(breaker),
          member,
          messages: budget.messages,
          windowMs: budget.windowSeconds * 1000,
          holdMs: budget.holdSeconds * 1000,
          thread: envelope.thread_id,
        });
      }),
    );
    const refusing = replies.findIndex((reply) => reply[0] !== COUNTED);
    if (refusing === -1) return;
    const counted = breakers.filter((_, i) => replies[i]![0] === COUNTED);
    await Promise.all(counted.map((breaker) => redis.zrem(keys.loopWindow(breaker), member)));
    for (const [i, reply] of replies.entries()) {
      if (reply[0] !== TRIPPED) continue;
      await this.#tripped(this.#held(breakers[i]!, reply), reply[3], envelope);
    }
    throw loopDetected(this.#held(breakers[refusing]!, replies[refusing]!));
  }

  #held(breaker: Breaker, reply: LoopCountReply): Held {
    return {
      breaker,
      budget: this.#d.pipeline.loops[breaker.rule],
      leftMs: reply[1],
      untilMs: reply[0] === COUNTED ? 0 : reply[2],
    };
  }

  /**
   * A breaker just tripped: it goes in the list of tripped breakers, its agents (both of a
   * pair; the senders counted in a thread's window) get a notice, and an alert is raised.
   * Never throws: the message is refused whatever becomes of these.
   */
  async #tripped(held: Held, senders: string[], envelope: Envelope): Promise<void> {
    const { redis, keys, log } = this.#d;
    const { breaker, budget } = held;
    const name = breakerName(breaker);
    const agents = [...new Set(breaker.rule === "pair" ? breaker.agents : senders)].slice(
      0,
      MAX_NOTIFIED,
    );
    const refusal = loopDetected(held);
    try {
      const index = keys.loopsTripped();
      await redis
        .multi()
        .zremrangebyscore(index, "-inf", Date.now())
        .zadd(index, held.untilMs, name)
        .exec();
      await this.#d.ingress.accept(
        composeEnvelope({
          from: SYSTEM_AGENT,
          to: agents,
          type: LOOP_NOTICE_TYPE,
          thread_id: envelope.thread_id,
          subject: `loop breaker ${name} tripped: your messages are refused until ${refusal.data?.resets_at}`,
          body: {
            status: "loop_detected",
            breaker: name,
            agents,
            error: { code: refusal.code, message: refusal.message, ...refusal.data },
          },
        }),
      );
    } catch (error) {
      log.warn("could not record a tripped loop breaker", {
        breaker: name,
        error: toErrorInfo(error),
      });
    }
    await this.#escalator.raise({
      kind: "loop",
      breaker: name,
      rule: breaker.rule,
      agents,
      thread_id: envelope.thread_id,
      messages: budget.messages,
      window_seconds: budget.windowSeconds,
      resets_at: new Date(held.untilMs).toISOString(),
    });
  }
}
