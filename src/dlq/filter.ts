import type { DeadLetterFilter } from "./entry.js";

/** The filter fields of a dlq_* tool (or the console's query), as the store takes them. */
export function filterOf(input: {
  agent?: string | undefined;
  stage?: string | undefined;
  code?: string | undefined;
  category?: DeadLetterFilter["category"];
  older_than_seconds?: number | undefined;
  newer_than_seconds?: number | undefined;
}): DeadLetterFilter {
  const ms = (seconds: number | undefined) => (seconds === undefined ? undefined : seconds * 1000);
  return {
    agent: input.agent,
    stage: input.stage,
    code: input.code,
    category: input.category,
    olderThanMs: ms(input.older_than_seconds),
    newerThanMs: ms(input.newer_than_seconds),
  };
}
