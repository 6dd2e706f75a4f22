import type { Job } from "bullmq";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { STAGE_NAMES, type RetryPolicy } from "../../src/config/pipeline.js";
import { STRATEGIES } from "../../src/config/failure-policy.js";
import {
  decideFailure,
  type Failed,
  type PolicyTable,
} from "../../src/pipeline/failure-decision.js";
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
    jitter: fc.integer({ min: 0, max: 100 }).map((percent) => percent / 100),
  })
  .map(({ headroom, ...p }) => ({ ...p, maxDelayMs: p.delayMs + headroom }));

const byCategory = <T>(arb: fc.Arbitrary<T>) =>
  fc.record(Object.fromEntries(ERROR_CATEGORIES.map((c) => [c, arb])));

/** Any policy table the config could load: every category with a strategy and a policy. */
const tableArb: fc.Arbitrary<PolicyTable> = fc.record({
  errors: fc.record({ strategies: byCategory(fc.constantFrom(...STRATEGIES)) }),
  retries: byCategory(policyArb),
}) as fc.Arbitrary<PolicyTable>;

type StageLike = Parameters<typeof decideFailure>[1];

const stageArb: fc.Arbitrary<StageLike> = fc.record({
  name: fc.constantFrom(...STAGE_NAMES),
  maxDeliveries: fc.integer({ min: 1, max: 1000 }),
});

const CODES = Object.keys(ERROR_CODES) as ErrorCode[];
const codeArb = fc.constantFrom(...CODES);
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

/** A table and a try it retries: a retryable code, its category under `retry`, tries left. */
const retryingArb = fc
  .tuple(
    tableArb,
    retryArb.filter((c) => isRetryable(c.code)),
  )
  .map(([table, c]) => {
    const strategies = { ...table.errors.strategies, [categoryOf(c.code)]: "retry" as const };
    const of = Math.max(2, c.of ?? policyIn(table, c.code).attempts);
    return {
      table: { ...table, errors: { strategies } },
      c: {
        ...c,
        of: c.of === undefined && of > 2 ? undefined : of,
        attempt: Math.min(c.attempt, of - 1),
      },
    };
  });

describe("the failure decision", () => {
  it("obeys the table's category → strategy for every code; what cannot succeed is dead-lettered", () => {
    fc.assert(
      fc.property(tableArb, stageArb, retryArb, (table, stage, c) => {
        for (const code of CODES) {
          const decision = decideFailure(table, stage, retried({ ...c, code }));
          const strategy = table.errors.strategies[categoryOf(code)];
          const of = c.of ?? policyIn(table, code).attempts;
          if (strategy === "drop") {
            expect(decision).toMatchObject({ kind: "reject", status: "undeliverable" });
          } else if (strategy === "dead_letter" || !isRetryable(code)) {
            expect(decision.kind).toBe("dead_letter");
          } else {
            expect(decision.kind).toBe(c.attempt < of ? "retry" : "dead_letter");
          }
          if (decision.kind !== "retry") expect(decision.error.code).toBe(code);
        }
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
      fc.property(tableArb, stageArb, retryArb, fc.nat(3), (table, stage, c, past) => {
        const attempt = (c.of ?? policyIn(table, c.code).attempts) + past;
        const decision = decideFailure(table, stage, retried({ ...c, attempt }));
        expect(decision.kind).not.toBe("retry");
        if (table.errors.strategies[categoryOf(c.code)] === "retry") {
          expect(decision.kind).toBe("dead_letter");
        }
      }),
    );
  });

  it("waits the backoff: within ±jitter of delayMs·2^(n−1) capped, never before a Retry-After", () => {
    fc.assert(
      fc.property(retryingArb, stageArb, ({ table, c }, stage) => {
        const decision = decideFailure(table, stage, retried(c));
        const policy = policyIn(table, c.code);
        const nominal = Math.min(policy.maxDelayMs, policy.delayMs * 2 ** (c.attempt - 1));
        const after = c.retryAfterMs ?? 0;
        expect(decision).toMatchObject({
          kind: "retry",
          attempt: c.attempt + 1,
          of: c.of ?? policy.attempts,
        });
        if (decision.kind !== "retry") return;
        expect(decision.delayMs).toBeGreaterThanOrEqual(Math.max(1, after));
        expect(decision.delayMs).toBeGreaterThanOrEqual(Math.floor(nominal * (1 - policy.jitter)));
        expect(decision.delayMs).toBeLessThanOrEqual(
          Math.max(1, after, Math.ceil(nominal * (1 + policy.jitter))),
        );
        expect(decision.attempt).toBeLessThanOrEqual(decision.of);
      }),
    );
  });

  it("waits no less for a later try, nor for a higher draw", () => {
    const delayOf = (table: PolicyTable, stage: StageLike, c: RetryCase): number => {
      const decision = decideFailure(table, stage, retried(c));
      if (decision.kind !== "retry") throw new Error(`expected a retry, got ${decision.kind}`);
      return decision.delayMs;
    };
    fc.assert(
      fc.property(retryingArb, stageArb, drawArb, ({ table, c }, stage, draw) => {
        const first = { ...c, of: 1000 };
        const later = { ...first, attempt: c.attempt + 1 };
        expect(delayOf(table, stage, later)).toBeGreaterThanOrEqual(delayOf(table, stage, first));
        const [low, high] = [c.draw, draw].sort((x, y) => x - y) as [number, number];
        expect(delayOf(table, stage, { ...c, draw: high })).toBeGreaterThanOrEqual(
          delayOf(table, stage, { ...c, draw: low }),
        );
      }),
    );
  });

  it("decides the same for the same failure and draw", () => {
    fc.assert(
      fc.property(
        fc.oneof(retryingArb, fc.record({ table: tableArb, c: retryArb })),
        stageArb,
        ({ table, c }, stage) => {
          expect(decideFailure(table, stage, retried(c))).toEqual(
            decideFailure(table, stage, retried(c)),
          );
        },
      ),
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
    [{ ...good, id: "the first" }, /field `id`: the entry's id in its stage stream/],
    [{ ...good, attempts: undefined }, /field `attempts`/],
  ])("fails a malformed one for good, naming the field: %j", async (data, field) => {
    const failed = processor(job(data), "token");
    await expect(failed).rejects.toMatchObject({ name: "UnrecoverableError" });
    await expect(failed).rejects.toThrow(field);
    await expect(failed).rejects.toThrow(/MALFORMED_ENTRY: job 7 of queue retry-deliver/);
    expect(warnings.at(-1)).toMatchObject({ message: "malformed job" });
  });
});
