import { describe, expect, it } from "vitest";
import { composeEnvelope } from "../../src/protocol/compose.js";
import { EnvelopeSchema } from "../../src/protocol/envelope.js";
import { isHumanSender, humanSender } from "../../src/protocol/overseer.js";
import { RegisterInputSchema } from "../../src/protocol/agent.js";
import { SwitchboardError } from "../../src/protocol/errors.js";
import { cookieOf } from "../../src/console/console.js";
import { decodeActivity, encodeActivity } from "../../src/protocol/activity.js";

describe("overseers (human:<name>)", () => {
  it("names a person's sender human:<name>, the name checked as an agent name", () => {
    expect(humanSender("alice", "as")).toBe("human:alice");
    expect(isHumanSender("human:alice")).toBe(true);
    expect(isHumanSender("alice")).toBe(false);
    for (const bad of ["", "a:b", "human:alice", " alice", 7, undefined, "x".repeat(65)]) {
      try {
        humanSender(bad, "as");
        expect.unreachable(`${String(bad)} was taken`);
      } catch (error) {
        expect(error).toBeInstanceOf(SwitchboardError);
        expect((error as SwitchboardError).code).toBe("INVALID_INPUT");
        expect((error as SwitchboardError).field).toBe("as");
        expect((error as Error).message).toContain("human:<name>");
      }
    }
  });

  it("lets a person send, but never be registered or be a recipient", () => {
    const envelope = composeEnvelope({ from: "human:alice", to: ["bob"], body: "hi" });
    expect(envelope.from).toBe("human:alice");
    expect(EnvelopeSchema.safeParse(envelope).success).toBe(true);
    expect(EnvelopeSchema.safeParse({ ...envelope, from: "human:" }).success).toBe(false);
    expect(EnvelopeSchema.safeParse({ ...envelope, from: "robot:alice" }).success).toBe(false);
    expect(() => composeEnvelope({ from: "bob", to: ["human:alice"], body: "hi" })).toThrow(
      SwitchboardError,
    );
    expect(RegisterInputSchema.safeParse({ name: "human:alice" }).success).toBe(false);
  });
});

describe("console helpers", () => {
  it("reads the session cookie among others", () => {
    expect(cookieOf("a=1; sb_console=abc; b=2")).toBe("abc");
    expect(cookieOf("sb_console_x=1")).toBeUndefined();
    expect(cookieOf(undefined)).toBeUndefined();
  });

  it("decodes activity it encoded, and drops what does not parse", () => {
    const events = [
      { kind: "agent" as const, name: "bob", status: "online" },
      { kind: "dead_letters" as const },
    ];
    expect(decodeActivity(encodeActivity(events))).toEqual(events);
    expect(decodeActivity("not json")).toEqual([]);
    expect(decodeActivity('[{"kind":"other"}]')).toEqual([]);
  });
});
