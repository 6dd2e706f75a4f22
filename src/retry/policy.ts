import type { Pipeline, RetryPolicy, Strategy } from "../config/pipeline.js";
import { categoryOf, isRetryable, type ErrorCategory, type ErrorInfo } from "../protocol/errors.js";

/**
 * What to do about a failure, by the policy table `errors.strategies`: the category of the
 * error's code names a strategy. An error that retrying cannot fix is never retried: under
 * a `retry` strategy it is dead-lettered instead, to be replayed once its cause is fixed.
 */
export function strategyFor(pipeline: Pipeline, error: ErrorInfo): Strategy {
  const strategy = pipeline.errors.strategies[categoryOf(error.code)];
  return strategy === "retry" && !isRetryable(error.code) ? "dead_letter" : strategy;
}

/** The retry policy of an error's category (checked at load to exist for `retry` ones). */
export function policyFor(pipeline: Pipeline, error: ErrorInfo): RetryPolicy {
  return policyOf(pipeline, categoryOf(error.code));
}

export function policyOf(pipeline: Pipeline, category: ErrorCategory): RetryPolicy {
  const policy = pipeline.retries[category];
  if (policy === undefined) throw new Error(`no retry policy \`retries.${category}\``);
  return policy;
}

/**
 * The delay before retry number `retry` (1 for the first retry): `delayMs × 2^(retry−1)`,
 * capped at `maxDelayMs`, moved by up to ±`jitter` of itself. A server's `Retry-After`
 * is honoured: the delay is never shorter than it asked (nor capped below it).
 */
export function backoffDelay(
  policy: RetryPolicy,
  retry: number,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(policy.maxDelayMs, policy.delayMs * 2 ** Math.max(0, retry - 1));
  const jittered = Math.round(base * (1 + policy.jitter * (2 * random() - 1)));
  return Math.max(1, jittered, retryAfterMs ?? 0);
}

/**
 * Thrown by a job processor to be retried after `delayMs` (BullMQ asks the worker's
 * backoff strategy, which answers with it): the processor computes the delay itself, so it
 * can record "retrying, attempt 3 of 8, next at …" before BullMQ schedules it.
 */
export class RetryLater extends Error {
  constructor(
    readonly info: ErrorInfo,
    readonly delayMs: number,
  ) {
    super(`${info.code}: ${info.message}`);
    this.name = "RetryLater";
  }
}

/** The name of the backoff type every Switchboard job uses; see {@link backoffStrategy}. */
export const BACKOFF_TYPE = "switchboard";

/** BullMQ's custom backoff: the delay the processor chose. */
export function backoffStrategy(_attemptsMade: number, _type?: string, error?: Error): number {
  return error instanceof RetryLater ? error.delayMs : 1000;
}
