import { describe, expect, it } from "vitest";
import { parsePipeline } from "../../src/config/pipeline.js";
import { backoffDelay, strategyFor } from "../../src/pipeline/failure-decision.js";
import { signWebhook, verifyWebhook } from "../../src/webhook/signature.js";

const pipeline = (document: Record<string, unknown> = {}) =>
  parsePipeline({ version: 1, ...document }, "test.yaml");

describe("retry policies", () => {
  const policy = { attempts: 8, delayMs: 1000, maxDelayMs: 10_000, jitter: 0.2 };

  it("backs off exponentially, capped, within ±jitter, never before a Retry-After", () => {
    const exact = { ...policy, jitter: 0 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(exact, n))).toEqual([
      1000, 2000, 4000, 8000, 10_000, 10_000,
    ]);
    expect(backoffDelay(policy, 2, undefined, () => 0)).toBe(1600);
    expect(backoffDelay(policy, 2, undefined, () => 1)).toBe(2400);
    expect(backoffDelay(exact, 1, 30_000)).toBe(30_000);
  });

  it("maps categories to strategies; what cannot succeed is never retried", () => {
    const p = pipeline();
    expect(strategyFor(p, { code: "WEBHOOK_TIMEOUT", message: "" })).toBe("retry");
    expect(strategyFor(p, { code: "INBOX_FULL", message: "" })).toBe("retry");
    expect(strategyFor(p, { code: "WEBHOOK_REJECTED", message: "" })).toBe("dead_letter");
    expect(strategyFor(p, { code: "EXPIRED", message: "" })).toBe("drop");
    expect(strategyFor(p, { code: "INTERNAL", message: "" })).toBe("dead_letter");
    const dropping = pipeline({ errors: { strategies: { delivery: "drop" } } });
    expect(strategyFor(dropping, { code: "WEBHOOK_TIMEOUT", message: "" })).toBe("drop");
  });

  it.each([
    [
      { retries: { delivery: { attempts: 3, delayMs: 0 } } },
      "retries.delivery.delayMs",
      /positive/,
    ],
    [{ retries: { quota: { attempts: 3, delayMs: -5 } } }, "retries.quota.delayMs", /positive/],
    [
      { retries: { delivery: { attempts: 3, delayMs: 500, maxDelayMs: 100 } } },
      "retries.delivery.maxDelayMs",
      /at least `delayMs`/,
    ],
    [
      { errors: { strategies: { quota: "later" } } },
      "errors.strategies.quota",
      /retry, dead_letter, drop/,
    ],
    [
      { errors: { strategies: { routing: "retry" } } },
      "errors.strategies.routing",
      /no retry policy `retries.routing`/,
    ],
    [{ webhooks: { timeoutMs: 0 } }, "webhooks.timeoutMs", /positive/],
  ])("refuses %j naming the field", (document, field, message) => {
    try {
      pipeline(document);
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ code: "CONFIG", field });
      expect((error as Error).message).toMatch(message);
    }
  });
});

describe("webhook signatures", () => {
  it("verifies what was signed, and nothing else or later", () => {
    const body = JSON.stringify({ id: "m1", body: "hi" });
    const now = 1_795_500_000_000;
    const timestamp = now / 1000;
    const headers = {
      "x-switchboard-timestamp": String(timestamp),
      "x-switchboard-signature": signWebhook("whsec_a", timestamp, body),
    };
    expect(verifyWebhook({ secret: "whsec_a", body, headers, now })).toEqual({
      ok: true,
      timestamp,
    });
    expect(verifyWebhook({ secret: "whsec_a", body: `${body} `, headers, now })).toMatchObject({
      reason: "bad_signature",
    });
    expect(verifyWebhook({ secret: "whsec_a", body, headers, now: now + 301_000 })).toMatchObject({
      reason: "stale_timestamp",
    });
    expect(verifyWebhook({ secret: "whsec_a", body, headers: {}, now })).toMatchObject({
      reason: "missing_headers",
    });
  });
});
