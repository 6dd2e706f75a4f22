import type { Job } from "bullmq";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { STAGE_NAMES, STRATEGIES, type RetryPolicy } from "../../src/config/pipeline.js";
import { decideFailure, type Failed, type PolicyTable } from "../../src/failures/decide.js";
import {
  categoryOf,
  ERROR_CATEGORIES,
  ERROR_CODES,
  isRetryable,
  type ErrorCode,
} from "../../src/protocol/errors.js";
import { entryProcessor, type EntryJobsOptions } from "../../src/retry/jobs.js";

const policyArb: fc.Arbitrary<RetryPolicy> = fc
  .record({
    attempts: fc.integer({ min: 1, max: 100 }),
    delayMs: fc.integer({ min: 1, max: 100_000 }),
    headroom: fc.integer({ min: 0, max: 3_600_000 }),
    jitter: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .map(({ headroom, ...p }) => ({ ...p, maxDelayMs: p.delayMs + headroom }));

const byCategory = <T>(arb: fc.Arbitrary<T>) =>
  fc.record(Object.fromEntries(ERROR_CATEGORIES.map((c) => [c, arb])));

/** Any policy table the config could load: every category with a strategy and a policy. */
const tableArb: fc.Arbitrary<PolicyTable> = fc.record({
  errors: fc.record({ strategies: byCategory(fc.constantFrom(...STRATEGIES)) }),
  retries: byCategory(policyArb),
}) as fc.Arbitrary<PolicyTable>;

const stageArb = fc.record({
  name: fc.constantFrom(...STAGE_NAMES),
  maxDeliveries: fc.integer({ min: 1, max: 1000 }),
});

const codeArb = fc.constantFrom(...(Object.keys(ERROR_CODES) as ErrorCode[]));
const drawArb = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

/** A failed try: try `attempt`, of `of` allowed when a job holds them, a `Retry-After` maybe. */
const retryArb = fc.record({
  code: codeArb,
  attempt: fc.integer({ min: 1, max: 120 }),
  of: fc.option(fc.integer({ min: 1, max: 100 }), { nil: undefined }),
  retryAfterMs: fc.option(fc.integer({ min: 0, max: 10_000_000 }), { nil: undefined }),
  draw: drawArb,
});

interface RetryCase {
  code: ErrorCode;
  attempt: number;
  of?: number | undefined;
  retryAfterMs?: number | undefined;
  draw: number;
}

const retried = ({ code, attempt, of, retryAfterMs, draw }: RetryCase): Failed => ({
  kind: "retry",
  error: { code, message: `failed with ${code}` },
  attempt,
  of,
  retryAfterMs,
  random: () => draw,
});

/** The policy of a code's category in a table (every category has one here). */
const policyIn = (table: PolicyTable, code: ErrorCode): RetryPolicy =>
  table.retries[categoryOf(code)]!;

describe("the failure decision", () => {
  it("obeys the table's category → strategy for every code; what cannot succeed is never retried", () => {
    fc.assert(
      fc.property(tableArb, stageArb, retryArb, (table, stage, c) => {
        const decision = decideFailure(table, stage, retried(c));
        const strategy = table.errors.strategies[categoryOf(c.code)];
        const of = c.of ?? policyIn(table, c.code).attempts;
        if (strategy === "drop") {
          expect(decision).toMatchObject({ kind: "reject", status: "undeliverable" });
        } else if (strategy === "dead_letter" || !isRetryable(c.code)) {
          expect(decision.kind).toBe("dead_letter");
        } else {
          expect(decision.kind).toBe(c.attempt < of ? "retry" : "dead_letter");
        }
        if (decision.kind !== "retry") expect(decision.error.code).toBe(c.code);
      }),
    );
  });

  it("never retries a non-retryable error, nor a reject", () => {
    const nonRetryable = codeArb.filter((code) => !isRetryable(code));
    fc.assert(
      fc.property(tableArb, stageArb, retryArb, nonRetryable, (table, stage, c, code) => {
        expect(decideFailure(table, stage, retried({ ...c, code })).kind).not.toBe("retry");
        const error = { code, message: "wrong" };
        const rejected = decideFailure(table, stage, { kind: "reject", error, status: "expired" });
        expect(rejected.kind).not.toBe("retry");
        // A reject is dropped as the handler said, unless the table dead-letters it.
        if (rejected.kind === "reject") expect(rejected.status).toBe("expired");
      }),
    );
  });

  it("dead-letters a try at or past the tries allowed, under a retry strategy", () => {
    fc.assert(
      fc.property(tableArb, stageArb, retryArb, (table, stage, c) => {
        const of = c.of ?? policyIn(table, c.code).attempts;
        fc.pre(c.attempt >= of);
        const decision = decideFailure(table, stage, retried(c));
        expect(decision.kind).not.toBe("retry");
        if (table.errors.strategies[categoryOf(c.code)] === "retry") {
          expect(decision.kind).toBe("dead_letter");
        }
      }),
    );
  });

  it("waits the backoff: within ±jitter of delayMs·2^(n−1) capped, never before a Retry-After", () => {
    fc.assert(
      fc.property(tableArb, stageArb, retryArb, (table, stage, c) => {
        const decision = decideFailure(table, stage, retried(c));
        fc.pre(decision.kind === "retry");
        if (decision.kind !== "retry") return;
        const policy = policyIn(table, c.code);
        const nominal = Math.min(policy.maxDelayMs, policy.delayMs * 2 ** (c.attempt - 1));
        const after = c.retryAfterMs ?? 0;
        expect(decision.delayMs).toBeGreaterThanOrEqual(Math.max(1, after));
        expect(decision.delayMs).toBeGreaterThanOrEqual(Math.floor(nominal * (1 - policy.jitter)));
        expect(decision.delayMs).toBeLessThanOrEqual(
          Math.max(1, after, Math.ceil(nominal * (1 + policy.jitter))),
        );
        expect(decision.attempt).toBe(c.attempt + 1);
        expect(decision.of).toBe(c.of ?? policy.attempts);
        expect(decision.attempt).toBeLessThanOrEqual(decision.of);
      }),
    );
  });

  it("waits no less for a later try, for the same draw", () => {
    fc.assert(
      fc.property(tableArb, stageArb, retryArb, (table, stage, c) => {
        const later = { ...c, attempt: c.attempt + 1, of: 1000 };
        const first = decideFailure(table, stage, retried({ ...c, of: 1000 }));
        const second = decideFailure(table, stage, retried(later));
        if (first.kind === "retry" && second.kind === "retry") {
          expect(second.delayMs).toBeGreaterThanOrEqual(first.delayMs);
        } else {
          expect(second.kind).toBe(first.kind); // the strategy, not the attempt, decided
        }
      }),
    );
  });

  it("decides the same for the same failure and draw", () => {
    fc.assert(
      fc.property(tableArb, stageArb, retryArb, (table, stage, c) => {
        expect(decideFailure(table, stage, retried(c))).toEqual(
          decideFailure(table, stage, retried(c)),
        );
      }),
    );
  });

  it("hands a redelivered entry out again until past maxDeliveries, then dead-letters it as poison", () => {
    fc.assert(
      fc.property(tableArb, stageArb, fc.integer({ min: 0, max: 2000 }), (table, stage, n) => {
        const decision = decideFailure(table, stage, { kind: "redelivered", deliveries: n });
        if (n <= stage.maxDeliveries) {
          expect(decision).toEqual({
            kind: "retry",
            delayMs: 0,
            attempt: n,
            of: stage.maxDeliveries,
          });
        } else {
          expect(decision).toMatchObject({ kind: "dead_letter", error: { code: "POISON" } });
          if (decision.kind === "dead_letter") {
            expect(decision.error.message).toContain(`maxDeliveries (${stage.maxDeliveries})`);
            expect(decision.error.message).toContain(`'${stage.name}'`);
          }
        }
      }),
    );
  });
});

describe("a retry or push job's payload", () => {
  const warnings: unknown[] = [];
  const options = {
    log: { warn: (message: string, fields: unknown) => warnings.push({ message, fields }) },
  } as unknown as EntryJobsOptions;
  const processor = entryProcessor(options, { name: "retry deliver", destination: "deliver" }, () =>
    Promise.reject(new Error("a malformed job must not be tried")),
  );
  const job = (data: unknown) =>
    ({ id: "7", queueName: "retry-deliver", data, attemptsMade: 0, opts: { attempts: 3 } }) as Job;
  const good = { id: "1-0", fields: [["mid", "bTE="]], tried: 1, attempts: [] };

  it.each([
    [null, /field `\(root\)`/],
    [{ ...good, fields: [["mid", "not base64!"]] }, /field `fields\[0\]\[1\]`/],
    [{ ...good, tried: -1 }, /field `tried`/],
    [{ ...good, attempts: undefined }, /field `attempts`/],
  ])("fails a malformed one for good, naming the field: %j", async (data, field) => {
    const failed = processor(job(data), "token");
    await expect(failed).rejects.toMatchObject({ name: "UnrecoverableError" });
    await expect(failed).rejects.toThrow(field);
    await expect(failed).rejects.toThrow(/MALFORMED_ENTRY: job 7 of queue retry-deliver/);
    expect(warnings.at(-1)).toMatchObject({ message: "malformed job" });
  });
});
