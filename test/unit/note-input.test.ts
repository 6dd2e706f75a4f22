import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { NOTE_KEY_PATTERN } from "../../src/protocol/note.js";
import { ToolInputs } from "../../src/protocol/tools.js";

/** The note tools' input: keys that stay inside their hash tag, versions, ttl. */
describe("note input", () => {
  it("accepts path-like keys and refuses what could break a hash tag", () => {
    for (const key of ["plans/auth", "api/v2.contract", "a", "log_2026-12-05", "x".repeat(200)]) {
      expect(ToolInputs.get_note.safeParse({ key }).success, key).toBe(true);
    }
    for (const key of ["", "/abs", ".hidden", "a b", "{n:x}", "a:b", "é", "x".repeat(201)]) {
      expect(ToolInputs.get_note.safeParse({ key }).success, key).toBe(false);
    }
  });

  it("never accepts a key with a brace, a colon, a space or a control character", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 220 }), (key) => {
        if (ToolInputs.put_note.safeParse({ key, content: "" }).success) {
          expect(key).toMatch(NOTE_KEY_PATTERN);
          expect(key).not.toMatch(/[{}:\s]/);
          expect([...key].every((c) => c.charCodeAt(0) > 0x1f)).toBe(true);
        }
      }),
    );
  });

  it("names the field of a bad version or ttl", () => {
    const path = (tool: "put_note" | "get_note", input: object) =>
      ToolInputs[tool].safeParse(input).error?.issues[0]?.path.join(".");
    expect(path("get_note", { key: "k", version: 0 })).toBe("version");
    expect(path("put_note", { key: "k", content: "", expected_version: -1 })).toBe(
      "expected_version",
    );
    expect(path("put_note", { key: "k", content: "", ttl_seconds: 0 })).toBe("ttl_seconds");
    expect(
      ToolInputs.put_note.safeParse({ key: "k", content: "", expected_version: 0 }).success,
    ).toBe(true);
  });
});
