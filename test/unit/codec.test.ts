import { deflateRawSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decodeEnvelope,
  decodeJson,
  encodeEnvelope,
  type CodecLimits,
} from "../../src/protocol/codec.js";
import { composeEnvelope } from "../../src/protocol/compose.js";
import type { Envelope } from "../../src/protocol/envelope.js";

const limits: CodecLimits = {
  compressAboveBytes: 256,
  maxEncodedBytes: 64 * 1024,
  maxDecodedBytes: 256 * 1024,
};

const agent = fc.stringMatching(/^[a-z][a-z0-9._-]{0,15}$/);
const envelopeArb: fc.Arbitrary<Envelope> = fc
  .record({
    from: agent,
    to: fc.array(agent, { minLength: 1, maxLength: 5 }),
    body: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Envelope["body"]>,
    subject: fc.option(fc.string({ maxLength: 100 }), { nil: undefined }),
    ttl: fc.option(fc.integer({ min: 1, max: 86_400 }), { nil: undefined }),
    key: fc.option(fc.string({ minLength: 1, maxLength: 50 }), { nil: undefined }),
  })
  .map((r) =>
    composeEnvelope({
      from: r.from,
      to: r.to,
      body: r.body,
      subject: r.subject,
      ttl_seconds: r.ttl,
      idempotency_key: r.key,
    }),
  );

/** JSON cannot tell -0 from 0; the round trip is exact up to that. */
const viaJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

describe("envelope codec", () => {
  it("round-trips any envelope, compressed or not", () => {
    fc.assert(
      fc.property(envelopeArb, (envelope) => {
        const { enc, data } = encodeEnvelope(envelope, limits);
        expect(decodeEnvelope(enc, data, limits)).toEqual(viaJson(envelope));
      }),
      { numRuns: 300 },
    );
  });

  it("compresses exactly the envelopes above the threshold", () => {
    fc.assert(
      fc.property(envelopeArb, (envelope) => {
        const json = Buffer.byteLength(JSON.stringify(envelope));
        expect(encodeEnvelope(envelope, limits).enc).toBe(
          json > limits.compressAboveBytes ? "deflate" : "json",
        );
      }),
    );
  });

  it("refuses a decompression bomb before inflating it whole", () => {
    const bomb = deflateRawSync(Buffer.alloc(50 * 1024 * 1024, 0x20)); // 50 MiB of spaces, ~50 KiB
    expect(bomb.length).toBeLessThan(limits.maxEncodedBytes);
    expect(() => decodeJson("deflate", bomb, limits)).toThrow(/decompression bomb/);
  });

  it("refuses oversize input before and after decompression", () => {
    const big = Buffer.alloc(limits.maxEncodedBytes + 1, 0x20);
    expect(() => decodeJson("json", big, limits)).toThrowError(
      expect.objectContaining({ code: "TOO_LARGE" }),
    );
    const envelope = composeEnvelope({
      from: "a",
      to: ["b"],
      body: "x".repeat(limits.maxDecodedBytes),
    });
    expect(() => encodeEnvelope(envelope, limits)).toThrowError(
      expect.objectContaining({ code: "TOO_LARGE", field: "body" }),
    );
  });

  it("names the wrong field of a malformed envelope", () => {
    const envelope = { ...composeEnvelope({ from: "a", to: ["b"], body: 1 }), from: "not a name!" };
    expect(() =>
      decodeEnvelope("json", Buffer.from(JSON.stringify(envelope)), limits),
    ).toThrowError(
      expect.objectContaining({
        code: "INVALID_INPUT",
        field: "from",
        message: expect.stringMatching(/field `from`/),
      }),
    );
  });

  it("reports bad encodings, bad deflate data and bad JSON as malformed", () => {
    for (const [enc, data] of [
      ["zstd", Buffer.from("{}")],
      ["deflate", Buffer.from("not deflate")],
      ["json", Buffer.from("{not json")],
    ] as const) {
      expect(() => decodeJson(enc, data, limits)).toThrowError(
        expect.objectContaining({ code: "MALFORMED_ENTRY" }),
      );
    }
  });

  it("drops a malformed traceparent instead of refusing the message", () => {
    const envelope = {
      ...composeEnvelope({ from: "a", to: ["b"], body: 1 }),
      trace: { traceparent: "garbage" },
    };
    const decoded = decodeEnvelope("json", Buffer.from(JSON.stringify(envelope)), limits);
    expect(decoded.trace).toBeUndefined();
  });
});
