import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkIds } from "../../src/dlq/resolve.js";
import { RegisterInputSchema } from "../../src/protocol/agent.js";
import { SendRequestSchema } from "../../src/protocol/compose.js";
import { ERROR_CODES, SwitchboardError } from "../../src/protocol/errors.js";
import { checkBodyDepth, MAX_JSON_DEPTH, nestsDeeperThan } from "../../src/protocol/json-value.js";
import { isStreamId, MAX_STREAM_ID_PART } from "../../src/protocol/stream-id.js";
import { ToolInputs } from "../../src/protocol/tools.js";
import { exclusiveStart } from "../../src/redis/stream-ids.js";

/** The input checks that keep Redis and recursion from meeting what they cannot take. */

/** Depth by recursion, for comparison (fine for the small values fast-check makes). */
function depthOf(value: unknown): number {
  if (typeof value !== "object" || value === null) return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...children.map(depthOf));
}

function nested(levels: number, asObject = false): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = asObject ? { a: value } : [value];
  return value;
}

describe("stream ids from outside", () => {
  it("take both parts up to 2^64 − 1 and nothing past", () => {
    const max = MAX_STREAM_ID_PART.toString();
    expect(isStreamId(`${max}-${max}`)).toBe(true);
    expect(isStreamId(`${MAX_STREAM_ID_PART + 1n}-0`)).toBe(false);
    expect(isStreamId(`0-${MAX_STREAM_ID_PART + 1n}`)).toBe(false);
    expect(isStreamId("99999999999999999999-0")).toBe(false);
    expect(isStreamId("123")).toBe(false);
    expect(isStreamId("123", { msAlone: true })).toBe(true);
    for (const bad of ["", "-1", "1-", "1-2-3", "1e3-0", " 1-0", "0x1-0", "١-٠"]) {
      expect(isStreamId(bad, { msAlone: true }), bad).toBe(false);
    }
  });

  it("agree with BigInt on any pair of parts", () => {
    const part = fc.oneof(
      fc.bigInt({ min: 0n, max: MAX_STREAM_ID_PART }),
      fc.bigInt({ min: MAX_STREAM_ID_PART - 5n, max: MAX_STREAM_ID_PART + 5n }),
      fc.bigInt({ min: 0n, max: 10n ** 21n }),
    );
    fc.assert(
      fc.property(part, part, (ms, seq) => {
        const valid = ms <= MAX_STREAM_ID_PART && seq <= MAX_STREAM_ID_PART;
        expect(isStreamId(`${ms}-${seq}`)).toBe(valid);
      }),
    );
  });

  it("are refused by the dlq store naming the field, and the last one starts no range", () => {
    expect(() => checkIds(["1-0", "18446744073709551616-0"])).toThrowError(
      expect.objectContaining({ code: "INVALID_INPUT", field: "ids" }),
    );
    expect(() => checkIds([`${MAX_STREAM_ID_PART}-${MAX_STREAM_ID_PART}`])).not.toThrow();
    expect(exclusiveStart(`${MAX_STREAM_ID_PART}-${MAX_STREAM_ID_PART}`)).toBeUndefined();
    expect(exclusiveStart("5-1")).toBe("(5-1");
  });

  it("are checked by every tool schema that takes one", () => {
    const refused = (tool: keyof typeof ToolInputs, args: unknown) =>
      ToolInputs[tool].safeParse(args).error?.issues.map((i) => i.path.join("."));
    expect(refused("replay", { after: "18446744073709551616-0" })).toEqual(["after"]);
    expect(refused("replay", { thread_id: "t", after: "1-0" })).toEqual(["after"]);
    expect(refused("replay", { thread_id: "t", after: "7" })).toBeUndefined();
    expect(refused("dlq_list", { after: "99999999999999999999-1" })).toEqual(["after"]);
    expect(refused("dlq_replay", { ids: ["1-0", "1-18446744073709551616"] })).toEqual(["ids.1"]);
    expect(refused("dlq_purge", { ids: ["0"] })).toEqual(["ids.0"]);
  });
});

describe("bounded numbers", () => {
  it("refuse ages past ten years, and accept ten years", () => {
    const ages = (args: unknown) => ToolInputs.dlq_list.safeParse(args).success;
    expect(ages({ newer_than_seconds: 1e15 })).toBe(false);
    expect(ages({ older_than_seconds: 315_360_001 })).toBe(false);
    expect(ages({ older_than_seconds: 315_360_000, newer_than_seconds: 0 })).toBe(true);
    expect(ToolInputs.dlq_purge.safeParse({ all: true, newer_than_seconds: 1e15 }).success).toBe(
      false,
    );
  });
});

describe("nesting depth", () => {
  it("is measured without recursion, 100,000 levels deep", () => {
    for (const asObject of [false, true]) {
      const deep = nested(100_000, asObject);
      expect(nestsDeeperThan(deep, MAX_JSON_DEPTH)).toBe(true);
      expect(nestsDeeperThan(deep, 100_000)).toBe(false);
    }
  });

  it("agrees with the recursive depth of any JSON value", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 10 }), (value, max) => {
        expect(nestsDeeperThan(value, max)).toBe(depthOf(value) > max);
      }),
    );
  });

  it("refuses a deep body before zod recurses, naming the field and the range", () => {
    for (const asObject of [false, true]) {
      const result = SendRequestSchema.safeParse({
        from: "a",
        to: ["b"],
        body: nested(100_000, asObject),
      });
      expect(result.error?.issues).toEqual([
        expect.objectContaining({
          path: ["body"],
          message: expect.stringMatching(/nests more than 256 levels .* 0 to 256 levels/),
        }),
      ]);
    }
    expect(SendRequestSchema.safeParse({ from: "a", to: ["b"], body: nested(256) }).success).toBe(
      true,
    );
    const metadata = RegisterInputSchema.safeParse({ name: "a", metadata: { m: nested(100_000) } });
    expect(metadata.error?.issues[0]?.path).toEqual(["metadata", "m"]);
  });

  it("is held to the pipeline's limit by checkBodyDepth, as INVALID_INPUT on `body`", () => {
    expect(() => checkBodyDepth(nested(64), 64)).not.toThrow();
    expect(() => checkBodyDepth(nested(65), 64)).toThrowError(
      expect.objectContaining({
        code: "INVALID_INPUT",
        field: "body",
        message: expect.stringMatching(/more than 64 levels.*`limits.maxBodyDepth`/),
      }),
    );
  });
});

describe("agent metadata", () => {
  it("is at most 4096 bytes as JSON", () => {
    const big = { notes: "x".repeat(5000) };
    expect(
      RegisterInputSchema.safeParse({ name: "a", metadata: big }).error?.issues[0],
    ).toMatchObject({
      path: ["metadata"],
      message: expect.stringMatching(/at most 4096 bytes/),
    });
    expect(RegisterInputSchema.safeParse({ name: "a", metadata: { model: "x" } }).success).toBe(
      true,
    );
  });
});

describe("RATE_LIMITED", () => {
  it("is a retryable quota error whose data travels with it", () => {
    expect(ERROR_CODES.RATE_LIMITED).toEqual({
      category: "quota",
      severity: "info",
      retryable: true,
    });
    const error = new SwitchboardError("RATE_LIMITED", "wait", {
      data: { retry_after_seconds: 0.25 },
    });
    expect(error.retryable).toBe(true);
    expect(error.toInfo()).toEqual({
      code: "RATE_LIMITED",
      message: "wait",
      data: { retry_after_seconds: 0.25 },
    });
  });
});
