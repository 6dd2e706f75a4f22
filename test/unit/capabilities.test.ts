import { describe, expect, it } from "vitest";
import { capabilityMatches, globMatches } from "../../src/protocol/capabilities.js";
import { SendRequestSchema } from "../../src/protocol/compose.js";

describe("capabilities", () => {
  it.each([
    ["python@3.12", "python", true],
    ["python@3.12", "python@3", true],
    ["python@3.12", "python@3.12", true],
    ["python@31", "python@3", false],
    ["python", "python@3", false],
    ["pythonic", "python", false],
    ["code-review", "code-review", true],
  ])("%s has %s: %s", (have, want, expected) => {
    expect(capabilityMatches(have, want)).toBe(expected);
  });

  it("globs match `*` as any run and everything else literally", () => {
    expect(globMatches("alert.*", "alert.disk")).toBe(true);
    expect(globMatches("alert.*", "alerts")).toBe(false);
    expect(globMatches("a.b", "aXb")).toBe(false);
  });
});

describe("targets", () => {
  const base = { from: "alice", body: 1 };
  it.each([
    [{ to: ["bob"] }, undefined],
    [{ broadcast: true, capability: "ops" }, undefined],
    [{ capability: "ops", mode: "all" }, undefined],
    [{ topic: "builds" }, undefined],
    [{}, "give a target"],
    [{ to: ["bob"], broadcast: true }, "give exactly one target, not `to` and `broadcast`"],
    [{ to: ["bob"], topic: "x" }, "give exactly one target"],
    [{ to: ["bob"], mode: "all" }, "`mode` goes with `capability`"],
  ])("%j → %s", (target, problem) => {
    const result = SendRequestSchema.safeParse({ ...base, ...target });
    if (problem === undefined) expect(result.success).toBe(true);
    else expect(result.error?.issues.map((i) => i.message).join("; ")).toContain(problem);
  });
});
