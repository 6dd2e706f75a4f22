import { vi } from "vitest";
import { Committer } from "../../src/pipeline/commit.js";
import type { Outcome } from "../../src/pipeline/stage.js";

type Appended = Exclude<Outcome, { kind: "retry" }>;

/**
 * Makes the first `Committer.append` of an outcome that `matches` fail as the command
 * connection does when Redis is briefly away (it fails fast); every other append, and that
 * one's next try, goes to Redis. Undone by `vi.restoreAllMocks()`.
 */
export function failAppendOnce(matches: (outcome: Appended) => boolean): { failed: () => boolean } {
  // The real method, called below with the instance as `this`.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const append = Committer.prototype.append;
  let failed = false;
  vi.spyOn(Committer.prototype, "append").mockImplementation(function (
    this: Committer,
    entry,
    outcome,
  ) {
    if (!failed && matches(outcome)) {
      failed = true;
      return Promise.reject(
        new Error("Reached the max retries per request limit (which is 1). Refer to ..."),
      );
    }
    return append.call(this, entry, outcome);
  });
  return { failed: () => failed };
}

/** Whether an outcome tells persist that a message was delivered. */
export const isDelivered = (outcome: Appended): boolean =>
  outcome.kind === "forward" &&
  outcome.outputs.some((o) => o.fields.some((f) => f.toString() === "delivered"));
