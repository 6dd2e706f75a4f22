import {
  breakerName,
  breakersSelected,
  parseBreakerName,
  type Breaker,
  type BreakerSelection,
  type LoopRule,
} from "../protocol/loops.js";
import { sendCommands } from "../redis/batch.js";
import type { RedisClient } from "../redis/client.js";
import type { Keys } from "../redis/keys.js";
import { TripField } from "./scripts.js";

/** A tripped breaker, as `switchboard loops list` and `list_loops` show it. */
export interface TrippedLoop {
  /** `pair:alice,bob`, `thread:T`, `broadcast:T`. */
  breaker: string;
  rule: LoopRule;
  /** The two agents of a pair; the senders counted in a thread's window. */
  agents: string[];
  /** The thread of the message that tripped it. */
  thread_id: string;
  /** The budget it went over: more than `messages` within `window_seconds`. */
  messages: number;
  window_seconds: number;
  tripped_at: string;
  resets_at: string;
}

/**
 * The tripped loop breakers: listed from their index (`{dir}:loops`, each scored by when it
 * resets) and their trips, each read in its own slot; lifted by deleting a trip and its
 * window (one slot), so counting starts afresh.
 */
export class TrippedLoops {
  readonly #redis: RedisClient;
  readonly #keys: Keys;

  constructor(redis: RedisClient, keys: Keys) {
    this.#redis = redis;
    this.#keys = keys;
  }

  /** Every breaker tripped now, the one that resets first first. */
  async list(): Promise<TrippedLoop[]> {
    const index = this.#keys.loopsTripped();
    const names = await this.#redis.zrange(index, 0, -1);
    const breakers = names.flatMap((name) => parseBreakerName(name) ?? []);
    const replies = await sendCommands(this.#redis, (batch) => {
      for (const breaker of breakers) batch.hgetall(this.#keys.loopTrip(breaker));
    });
    const tripped: TrippedLoop[] = [];
    const gone: string[] = [];
    breakers.forEach((breaker, i) => {
      const [error, fields] = replies[i]!;
      if (error !== null) throw error;
      const view = viewOf(breaker, fields as Record<string, string>);
      if (view === undefined) gone.push(breakerName(breaker));
      else tripped.push(view);
    });
    // Reset or lifted since it was listed: the index forgets it.
    if (gone.length > 0) await this.#redis.zrem(index, ...gone);
    return tripped;
  }

  /** Lifts a thread's loop breakers or a pair's; the names of those that were tripped. */
  async clear(selection: BreakerSelection): Promise<string[]> {
    const breakers = breakersSelected(selection);
    const replies = await sendCommands(this.#redis, (batch) => {
      for (const breaker of breakers) {
        batch.del(this.#keys.loopTrip(breaker)).del(this.#keys.loopWindow(breaker));
      }
    });
    const names = breakers.map(breakerName);
    await this.#redis.zrem(this.#keys.loopsTripped(), ...names);
    return names.filter((_, i) => {
      const [error, deleted] = replies[2 * i]!;
      if (error !== null) throw error;
      return deleted === 1;
    });
  }
}

function viewOf(breaker: Breaker, fields: Record<string, string>): TrippedLoop | undefined {
  const at = Number(fields[TripField.at]);
  const until = Number(fields[TripField.until]);
  if (!Number.isFinite(at) || !Number.isFinite(until)) return undefined;
  const agents = (fields[TripField.agents] ?? "").split(" ").filter((a) => a !== "");
  return {
    breaker: breakerName(breaker),
    rule: breaker.rule,
    agents: breaker.rule === "pair" ? [...breaker.agents] : agents,
    thread_id: fields[TripField.thread] ?? (breaker.rule === "pair" ? "" : breaker.thread_id),
    messages: Number(fields[TripField.messages]),
    window_seconds: Number(fields[TripField.window]),
    tripped_at: new Date(at).toISOString(),
    resets_at: new Date(until).toISOString(),
  };
}
