import type { LoopBudget } from "../config/pipeline.js";
import { SwitchboardError } from "../protocol/errors.js";
import { breakerName, type Breaker } from "../protocol/loops.js";
import { plural } from "../protocol/words.js";

/** A breaker that refuses: its budget, and when it resets (ms, Redis's clock) and in how long. */
export interface Held {
  breaker: Breaker;
  budget: LoopBudget;
  untilMs: number;
  leftMs: number;
}

/** What went over its budget, and what is refused meanwhile, in words. */
function describe(breaker: Breaker, budget: LoopBudget): { what: string; refused: string } {
  const within = `${plural(budget.messages, "message")} in ${budget.windowSeconds} s`;
  switch (breaker.rule) {
    case "pair": {
      const [a, b] = breaker.agents;
      return {
        what: `messages between '${a}' and '${b}' went over the loop budget \`loops.pair\` (${within}), a reply loop`,
        refused: "messages between them are refused",
      };
    }
    case "thread":
      return {
        what: `thread '${breaker.thread_id}' went over the loop budget \`loops.thread\` (${within}), agents answering each other without end`,
        refused: "messages in it are refused",
      };
    case "broadcast":
      return {
        what: `thread '${breaker.thread_id}' went over the storm budget \`loops.broadcast\` (${within} to everyone, a topic or all of a capability), a broadcast answered to everyone`,
        refused: "such messages in it are refused (answer the sender alone, with `to`)",
      };
  }
}

/**
 * LOOP_DETECTED for a message a breaker refuses: which budget, what is refused, and when
 * it resets, in words and as data (`retry_after_seconds`, `resets_at`).
 */
export function loopDetected(held: Held): SwitchboardError {
  const { breaker, budget } = held;
  const { what, refused } = describe(breaker, budget);
  const resetsAt = new Date(held.untilMs).toISOString();
  const seconds = Math.max(1, Math.ceil(held.leftMs / 1000));
  return new SwitchboardError(
    "LOOP_DETECTED",
    `${what}: ${refused} until ${resetsAt} (retry after ${seconds} s, retry_after_seconds); ` +
      "do not answer an acknowledgement or a thank-you",
    {
      field: breaker.rule === "pair" ? "to" : "thread_id",
      hint: "clearLoop",
      data: {
        rule: breaker.rule,
        breaker: breakerName(breaker),
        messages: budget.messages,
        window_seconds: budget.windowSeconds,
        retry_after_seconds: seconds,
        resets_at: resetsAt,
      },
    },
  );
}
