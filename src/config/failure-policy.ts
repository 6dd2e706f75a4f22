import { z } from "zod";
import { ERROR_CATEGORIES, type ErrorCategory } from "../protocol/errors.js";
import { positiveInt } from "./fields.js";

/**
 * A retry policy: how many tries in all (the first one included), and the exponential
 * backoff between them: `delayMs × 2^(retry − 1)`, capped at `maxDelayMs`, each delay moved
 * by up to ±`jitter` of itself at random so that failed messages do not retry in lockstep.
 */
const RetryPolicySchema = z
  .strictObject({
    attempts: positiveInt("attempts (the first try included)").max(100),
    delayMs: positiveInt("milliseconds before the first retry"),
    maxDelayMs: positiveInt("milliseconds").default(3_600_000),
    jitter: z
      .number()
      .min(0, "expected a fraction from 0 (no jitter) to 1")
      .max(1, "expected a fraction from 0 (no jitter) to 1")
      .default(0.2),
  })
  .refine((p) => p.maxDelayMs >= p.delayMs, {
    error: "`maxDelayMs` must be at least `delayMs`",
    path: ["maxDelayMs"],
  });

export type RetryPolicy = z.infer<typeof RetryPolicySchema>;

/** The `retries` block: policies by name; a category whose strategy is `retry` uses the policy of its name. */
export const RetriesSchema = z
  .record(z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, "a policy name"), RetryPolicySchema)
  .default({});

/** What happens to a message whose error falls in a category. */
export const STRATEGIES = ["retry", "dead_letter", "drop"] as const;
export type Strategy = (typeof STRATEGIES)[number];

const StrategiesSchema = z.strictObject(
  Object.fromEntries(
    ERROR_CATEGORIES.map((category) => [
      category,
      z.enum(STRATEGIES, {
        error: `expected one of ${STRATEGIES.join(", ")} (retry with the policy \`retries.${category}\`, dead-letter, or drop and tell the sender)`,
      }),
    ]),
  ) as Record<ErrorCategory, z.ZodEnum<{ [S in Strategy]: S }>>,
);

const HttpUrlSchema = z.url({
  protocol: /^https?$/,
  error: "expected an http:// or https:// URL, such as https://alerts.example.com/switchboard",
});

/** The `errors` block: strategies by category, the error history, and escalation. */
export const ErrorsSchema = z.strictObject({
  /** Error category → what happens to the message. */
  strategies: StrategiesSchema.partial().default({}),
  history: z
    .strictObject({
      /** The error history keeps about this many of the latest errors. */
      maxLen: positiveInt("entries").default(10_000),
    })
    .prefault({}),
  escalation: z
    .strictObject({
      /** More errors than this within one window raise an alert. */
      errorRate: z
        .strictObject({
          threshold: positiveInt("errors").default(100),
          windowMs: positiveInt("milliseconds").default(60_000),
        })
        .prefault({}),
      /** Alerts are also POSTed here as JSON, if set. */
      alertWebhook: HttpUrlSchema.optional(),
    })
    .prefault({}),
});

/** The strategies a pipeline file need not spell out; it may override any of them. */
export const DEFAULT_STRATEGIES: Readonly<Record<ErrorCategory, Strategy>> = {
  validation: "drop",
  routing: "drop",
  auth: "drop",
  delivery: "retry",
  quota: "retry",
  transient: "retry",
  internal: "dead_letter",
};

/** The policies a pipeline file need not spell out; it may override any of them. */
export const DEFAULT_RETRIES: Readonly<Record<string, RetryPolicy>> = {
  delivery: { attempts: 8, delayMs: 1000, maxDelayMs: 300_000, jitter: 0.2 },
  quota: { attempts: 10, delayMs: 5000, maxDelayMs: 600_000, jitter: 0.2 },
  transient: { attempts: 6, delayMs: 500, maxDelayMs: 30_000, jitter: 0.2 },
};
