import type { Pipeline, RetryPolicy, StageDefinition, Strategy } from "../config/pipeline.js";
import { categoryOf, isRetryable, type ErrorCategory, type ErrorInfo } from "../protocol/errors.js";
import type { FailureStatus } from "../protocol/status.js";

/**
 * The policy table: `errors.strategies` (an error category → `retry`, `dead_letter` or
 * `drop`) and the retry policies by name.
 */
export interface PolicyTable {
  readonly errors: Pick<Pipeline["errors"], "strategies">;
  readonly retries: Pipeline["retries"];
}

/** What failed, as the path that saw it knows it. */
export type Failed =
  /**
   * Try number `attempt` (from 1) failed and may succeed later. `of` is the tries allowed in
   * all when a job already holds them (fixed when it was scheduled), else the policy's;
   * `retryAfterMs` a server's `Retry-After`; `random` draws from [0, 1) for the jitter.
   */
  | {
      kind: "retry";
      error: ErrorInfo;
      attempt: number;
      of?: number | undefined;
      retryAfterMs?: number | undefined;
      random: () => number;
    }
  /** The handler found the message itself wrong; `status` is what its sender is told. */
  | { kind: "reject"; error: ErrorInfo; status: FailureStatus }
  /** The stream handed an entry out for the `deliveries`-th time (its consumer died or stalled). */
  | { kind: "redelivered"; deliveries: number };

/** What a failure becomes. */
export type Decision =
  /** Try again in `delayMs` (0: now): that will be try number `attempt` of `of`. */
  | { kind: "retry"; delayMs: number; attempt: number; of: number }
  /** Keep the entry for an operator to replay; the sender is told. */
  | { kind: "dead_letter"; error: ErrorInfo }
  /** Drop the message (for that recipient) and tell the sender, with `status`. */
  | { kind: "reject"; status: FailureStatus; error: ErrorInfo };

/**
 * The one answer to every failure: the runner's outcomes, each try of a retry or push job
 * and the janitor's redeliveries all ask it. Pure: the same arguments (and draws) give the
 * same decision.
 *
 * - A redelivered entry is tried again at once, until it has been handed out more than the
 *   stage's `maxDeliveries` times: then it is poison, dead-lettered whatever the table says,
 *   as there is no error to look up and dropping it would lose it unseen.
 * - A reject is dropped (the sender told), unless the table dead-letters its error.
 * - A retry follows {@link strategyFor}; under `retry` it waits {@link backoffDelay} until the
 *   tries are spent, then it is dead-lettered.
 */
export function decideFailure(
  table: PolicyTable,
  stage: Pick<StageDefinition, "name" | "maxDeliveries">,
  failed: Failed,
): Decision {
  if (failed.kind === "redelivered") {
    const { deliveries } = failed;
    if (deliveries <= stage.maxDeliveries) {
      return { kind: "retry", delayMs: 0, attempt: deliveries, of: stage.maxDeliveries };
    }
    const message = `handed out more than maxDeliveries (${stage.maxDeliveries}) times by stage '${stage.name}' without being acknowledged`;
    return { kind: "dead_letter", error: { code: "POISON", message } };
  }
  const { error } = failed;
  const strategy = strategyFor(table, error);
  if (strategy === "dead_letter") return { kind: "dead_letter", error };
  if (failed.kind === "reject") return { kind: "reject", status: failed.status, error };
  if (strategy === "drop") return { kind: "reject", status: "undeliverable", error };
  const policy = policyFor(table, error);
  const of = failed.of ?? policy.attempts;
  if (failed.attempt >= of) return { kind: "dead_letter", error };
  const delayMs = backoffDelay(policy, failed.attempt, failed.retryAfterMs, failed.random);
  return { kind: "retry", delayMs, attempt: failed.attempt + 1, of };
}

/**
 * The table's strategy for an error, by its code's category. An error that retrying cannot
 * fix is never retried: under a `retry` strategy it is dead-lettered instead, to be replayed
 * once its cause is fixed.
 */
export function strategyFor(table: PolicyTable, error: ErrorInfo): Strategy {
  const strategy = table.errors.strategies[categoryOf(error.code)];
  return strategy === "retry" && !isRetryable(error.code) ? "dead_letter" : strategy;
}

/** The retry policy of an error's category (checked at load to exist for `retry` ones). */
function policyFor(table: PolicyTable, error: ErrorInfo): RetryPolicy {
  return policyOf(table, categoryOf(error.code));
}

export function policyOf(table: PolicyTable, category: ErrorCategory): RetryPolicy {
  const policy = table.retries[category];
  if (policy === undefined) throw new Error(`no retry policy \`retries.${category}\``);
  return policy;
}

/**
 * The delay before retry number `retry` (1 for the first retry): `delayMs × 2^(retry−1)`,
 * capped at `maxDelayMs`, moved by up to ±`jitter` of itself. A server's `Retry-After`
 * is honoured: the delay is never shorter than it asked (nor capped below it).
 */
export function backoffDelay(
  policy: Pick<RetryPolicy, "delayMs" | "maxDelayMs" | "jitter">,
  retry: number,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(policy.maxDelayMs, policy.delayMs * 2 ** Math.max(0, retry - 1));
  const jittered = Math.round(base * (1 + policy.jitter * (2 * random() - 1)));
  return Math.max(1, jittered, retryAfterMs ?? 0);
}
