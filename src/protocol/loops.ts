import { z } from "zod";
import { AgentNameSchema, ThreadIdSchema, type Envelope } from "./envelope.js";

/**
 * The loop and storm breaker's rules, as the pipeline file's `loops` block names them:
 * - `pair`: messages between the same two agents, either way, in any thread;
 * - `thread`: messages in one thread, from anyone;
 * - `broadcast`: fan-out messages (to everyone, a topic, or every agent of a capability)
 *   in one thread: a broadcast its recipients answer to everyone.
 */
export const LOOP_RULES = ["pair", "thread", "broadcast"] as const;
export type LoopRule = (typeof LOOP_RULES)[number];

/** One breaker: a rule and what it counts (two agents, or a thread). */
export type Breaker =
  | { rule: "pair"; agents: readonly [string, string] }
  | { rule: "thread" | "broadcast"; thread_id: string };

/** The two agents of a pair in one order, whichever sent: one breaker for both directions. */
export function pairOf(a: string, b: string): readonly [string, string] {
  return a <= b ? [a, b] : [b, a];
}

/**
 * A breaker's name, as lists and alerts show it and its index stores it:
 * `pair:alice,bob`, `thread:T`, `broadcast:T` (agent names hold no `,` or `:`).
 */
export function breakerName(breaker: Breaker): string {
  return breaker.rule === "pair"
    ? `pair:${breaker.agents.join(",")}`
    : `${breaker.rule}:${breaker.thread_id}`;
}

/** The breaker a name stands for; undefined for a name no breaker has. */
export function parseBreakerName(name: string): Breaker | undefined {
  const colon = name.indexOf(":");
  const rule = name.slice(0, colon);
  const subject = name.slice(colon + 1);
  if (rule === "pair") {
    const [a = "", b = "", ...rest] = subject.split(",");
    if (rest.length > 0 || !isAgentName(a) || !isAgentName(b)) return undefined;
    return { rule, agents: pairOf(a, b) };
  }
  if ((rule === "thread" || rule === "broadcast") && ThreadIdSchema.safeParse(subject).success) {
    return { rule, thread_id: subject };
  }
  return undefined;
}

const isAgentName = (name: string): boolean => AgentNameSchema.safeParse(name).success;

/** Whether a message reaches agents its sender does not name: counted by `broadcast`. */
export function isFanOut(envelope: Envelope): boolean {
  const { to } = envelope;
  return (
    to.kind === "broadcast" ||
    to.kind === "topic" ||
    (to.kind === "capability" && to.mode === "all")
  );
}

/** The breakers a message counts in: its pairs (one per named recipient), its thread, its storms. */
export function breakersOf(envelope: Envelope): Breaker[] {
  const breakers: Breaker[] = [];
  if (envelope.to.kind === "agents") {
    const peers = new Set(envelope.to.agents);
    for (const peer of peers) breakers.push({ rule: "pair", agents: pairOf(envelope.from, peer) });
  }
  breakers.push({ rule: "thread", thread_id: envelope.thread_id });
  if (isFanOut(envelope)) breakers.push({ rule: "broadcast", thread_id: envelope.thread_id });
  return breakers;
}

/**
 * What lifts breakers: a thread's (its `thread` and `broadcast` rules), or a pair's.
 * Shared by the admin tool `clear_loop` and `switchboard loops clear`.
 */
export const LoopSelectionShape = {
  thread_id: ThreadIdSchema.optional().describe(
    "Lift the breakers of this thread: its `thread` and `broadcast` budgets.",
  ),
  pair: z
    .tuple([AgentNameSchema, AgentNameSchema], {
      error: 'give the pair as two agent names, such as ["alice", "bob"]',
    })
    .optional()
    .describe(
      'Lift the breaker of the messages between these two agents, such as ["alice", "bob"].',
    ),
};

/** Exactly one of `thread_id` and `pair`. */
export function checkLoopSelection(
  selection: { thread_id?: string | undefined; pair?: readonly string[] | undefined },
  ctx: z.RefinementCtx,
): void {
  const given =
    (selection.thread_id === undefined ? 0 : 1) + (selection.pair === undefined ? 0 : 1);
  if (given !== 1) {
    ctx.addIssue({
      code: "custom",
      path: [selection.pair === undefined ? "thread_id" : "pair"],
      message:
        given === 0
          ? "say which breaker to lift: `thread_id` (a thread's) or `pair` (two agents')"
          : "give `thread_id` or `pair`, not both",
    });
  }
}

/** Which breakers to lift: a thread's (`thread_id`) or a pair's (`pair`). */
export interface BreakerSelection {
  thread_id?: string | undefined;
  pair?: readonly [string, string] | undefined;
}

/** The breakers a selection lifts. */
export function breakersSelected(selection: BreakerSelection): Breaker[] {
  if (selection.pair !== undefined) {
    return [{ rule: "pair", agents: pairOf(selection.pair[0], selection.pair[1]) }];
  }
  const thread_id = selection.thread_id ?? "";
  return [
    { rule: "thread", thread_id },
    { rule: "broadcast", thread_id },
  ];
}
