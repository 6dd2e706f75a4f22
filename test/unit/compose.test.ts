import { describe, expect, it } from "vitest";
import { composeEnvelope } from "../../src/protocol/compose.js";
import { uuidv7, uuidv7Time, UUID_V7_PATTERN } from "../../src/protocol/ids.js";

describe("uuidv7", () => {
  it("is a v7 UUID that sorts by creation, even within one millisecond", () => {
    const ids = Array.from({ length: 10_000 }, () => uuidv7(1_700_000_000_000));
    for (const id of ids) expect(id).toMatch(UUID_V7_PATTERN);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(uuidv7Time(uuidv7(1_800_000_000_123))).toBe(1_800_000_000_123);
  });
});

describe("composeEnvelope", () => {
  it("starts a new thread unless one is given, and sets expiry from the ttl", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    const first = composeEnvelope(
      { from: "alice", to: ["bob"], body: { hi: 1 }, ttl_seconds: 60 },
      now,
    );
    expect(first.thread_id).toBe(first.id);
    expect(first.expires_at).toBe("2026-01-01T00:01:00.000Z");
    const reply = composeEnvelope({
      from: "bob",
      to: ["alice"],
      body: "ok",
      thread_id: first.thread_id,
      reply_to: first.id,
    });
    expect(reply.thread_id).toBe(first.id);
    expect(reply.reply_to).toBe(first.id);
  });

  it.each([
    [{ from: "alice", to: [], body: 1 }, "to"],
    [{ from: "al ice", to: ["bob"], body: 1 }, "from"],
    [{ from: "alice", to: ["bob"], body: 1, ttl_seconds: -5 }, "ttl_seconds"],
    [{ from: "alice", to: ["bob"], body: 1, reply_to: "nope" }, "reply_to"],
    [{ from: "alice", to: ["bob"], body: 1, color: "red" }, "(root)"],
  ])("refuses %j naming field %s", (request, field) => {
    expect(() => composeEnvelope(request as never)).toThrowError(
      expect.objectContaining({ code: "INVALID_INPUT", field }),
    );
  });
});
