import { describe, expect, it } from "vitest";
import {
  DEFAULT_MAX_BODY_DEPTH,
  DEFAULT_SEND_RATE,
  loadPipeline,
  parsePipeline,
} from "../../src/config/pipeline.js";

/** The `limits` the input checks and the send rate read: defaults, and mistakes named. */
const parse = (limits: unknown) => parsePipeline({ version: 1, limits }, "test.yaml");

describe("pipeline limits", () => {
  it("ship with a body depth of 64 and a send rate of 200/s in bursts of 400", () => {
    expect(DEFAULT_MAX_BODY_DEPTH).toBe(64);
    expect(DEFAULT_SEND_RATE).toEqual({ perSecond: 200, burst: 400 });
    for (const pipeline of [loadPipeline(), parse({})]) {
      expect(pipeline.limits.maxBodyDepth).toBe(DEFAULT_MAX_BODY_DEPTH);
      expect(pipeline.limits.sendRate).toEqual(DEFAULT_SEND_RATE);
    }
  });

  it("take a rate below one send per second, and a burst alone", () => {
    expect(parse({ sendRate: { perSecond: 0.5 } }).limits.sendRate).toEqual({
      perSecond: 0.5,
      burst: 400,
    });
    expect(parse({ sendRate: { burst: 10 } }).limits.sendRate.perSecond).toBe(200);
  });

  it.each([
    [{ maxBodyDepth: 257 }, /field `limits.maxBodyDepth`: at most 256 levels/],
    [{ maxBodyDepth: 0 }, /field `limits.maxBodyDepth`: expected a positive number of levels/],
    [
      { sendRate: { perSecond: 0 } },
      /field `limits.sendRate.perSecond`: expected a positive number/,
    ],
    [
      { sendRate: { perSecond: "fast" } },
      /field `limits.sendRate.perSecond`: expected sends per second/,
    ],
    [
      { sendRate: { burst: 1.5 } },
      /field `limits.sendRate.burst`: expected a whole number of sends/,
    ],
    [{ sendRate: { perMinute: 5 } }, /field `limits.sendRate`: .*perMinute/],
  ])("name the field of a mistake: %j", (limits, message) => {
    expect(() => parse(limits)).toThrowError(
      expect.objectContaining({ code: "CONFIG", message: expect.stringMatching(message) }),
    );
  });
});
