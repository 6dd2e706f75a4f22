import { z } from "zod";
import { positiveInt } from "./fields.js";

/** The longest a budget's window or a breaker's hold may be: a day. */
export const MAX_LOOP_SECONDS = 86_400;
/**
 * The most messages a budget may allow in its window: the breaker keeps one small entry
 * per message counted in the window, so this bounds its memory.
 */
export const MAX_LOOP_MESSAGES = 10_000;

/**
 * The loop and storm breaker's budgets (`loops`). A model takes seconds per turn and a
 * team's conversation is a handful of messages a minute, so each budget is several times
 * what people and working agents produce, and far below what two programs answering each
 * other produce (one message every few milliseconds):
 * - `pair`, 30 messages in 60 s between two agents, either way: one every 2 s, without a
 *   pause, for a minute; a 20-message exchange never reaches it;
 * - `thread`, 200 messages in 300 s in one thread: a team of ten each writing twice a
 *   minute for five minutes stays under it;
 * - `broadcast`, 10 fan-out messages in 60 s in one thread: an announcement and a few
 *   follow-ups pass; a broadcast that ten agents answer to everyone does not.
 * A tripped breaker refuses for `holdSeconds` (5 min), so a loop does not simply resume
 * when its window ends; an operator or an admin agent may lift it sooner.
 * @defaultValue see {@link DEFAULT_LOOP_BUDGETS}
 */
export const DEFAULT_LOOP_BUDGETS = Object.freeze({
  pair: Object.freeze({ messages: 30, windowSeconds: 60, holdSeconds: 300 }),
  thread: Object.freeze({ messages: 200, windowSeconds: 300, holdSeconds: 300 }),
  broadcast: Object.freeze({ messages: 10, windowSeconds: 60, holdSeconds: 300 }),
});

type Budget = (typeof DEFAULT_LOOP_BUDGETS)[keyof typeof DEFAULT_LOOP_BUDGETS];

const seconds = (what: string) =>
  positiveInt("seconds").max(
    MAX_LOOP_SECONDS,
    `${what} is at most ${MAX_LOOP_SECONDS} seconds (a day); lower it`,
  );

/** One budget: more than `messages` within `windowSeconds` trips it for `holdSeconds`. */
const budgetSchema = (defaults: Budget) =>
  z.strictObject({
    /** The most messages allowed within the window; one more trips the breaker. */
    messages: positiveInt("messages")
      .max(
        MAX_LOOP_MESSAGES,
        `at most ${MAX_LOOP_MESSAGES} messages; a longer window counts more cheaply than a bigger budget`,
      )
      .default(defaults.messages),
    /** The sliding window the messages are counted in. */
    windowSeconds: seconds("a window").default(defaults.windowSeconds),
    /** How long a tripped breaker refuses, unless lifted. */
    holdSeconds: seconds("a hold").default(defaults.holdSeconds),
  });

/** The `loops` block: the loop and storm breaker (docs/ARCHITECTURE.md, "Loop and storm breaker"). */
export const LoopsSchema = z.strictObject({
  /** false: nothing is counted or refused. */
  enabled: z.boolean({ error: "expected true or false" }).default(true),
  pair: budgetSchema(DEFAULT_LOOP_BUDGETS.pair).prefault({}),
  thread: budgetSchema(DEFAULT_LOOP_BUDGETS.thread).prefault({}),
  broadcast: budgetSchema(DEFAULT_LOOP_BUDGETS.broadcast).prefault({}),
});

export type LoopBudget = z.infer<ReturnType<typeof budgetSchema>>;
