import { describe, expect, it } from "vitest";
import { CommanderError } from "commander";
import { loadPipeline } from "../../src/config/pipeline.js";
import { SwitchboardError } from "../../src/protocol/errors.js";
import { parseBody } from "../../src/cli/commands/send.js";
import { requestFromLine } from "../../src/cli/commands/send-file.js";
import { parseStages, withConcurrency } from "../../src/cli/commands/worker.js";
import { describeError, exitCodeFor, formatCommanderMessage } from "../../src/cli/errors.js";
import { resolveSettings } from "../../src/cli/runtime.js";
import { formatDuration, formatTable, truncate } from "../../src/cli/table.js";

describe("cli formatting", () => {
  it("aligns table columns, numbers to the right", () => {
    const table = formatTable(
      [{ header: "name" }, { header: "n", align: "right" }],
      [
        ["a", "1"],
        ["long", "100"],
      ],
    );
    expect(table.split("\n")).toEqual(["name    n", "a       1", "long  100"]);
  });

  it("formats durations and truncates previews", () => {
    expect([850, 12_500, 300_000, 7_200_000, 172_800_000].map(formatDuration)).toEqual([
      "850ms",
      "12s",
      "5m",
      "2h",
      "2d",
    ]);
    expect(truncate("a\nb  c", 10)).toBe("a b c");
    expect(truncate("abcdefghij", 5)).toBe("abcd…");
  });
});

describe("cli parsing", () => {
  it("parses --stages in pipeline order and refuses unknown names", () => {
    expect(parseStages("persist, validate")).toEqual(["validate", "persist"]);
    expect(() => parseStages("route,nope")).toThrow(/unknown stage 'nope'.*validate, route/);
    expect(() => parseStages(",")).toThrow(SwitchboardError);
  });

  it("overrides concurrency of the chosen stages only", () => {
    const pipeline = withConcurrency(loadPipeline(), ["deliver"], 4);
    expect(pipeline.stages.deliver.concurrency).toBe(4);
    expect(pipeline.stages.route.concurrency).toBe(1);
  });

  it("reads bodies as JSON when they are, else as strings", () => {
    expect(parseBody('{"a":1}')).toEqual({ a: 1 });
    expect(parseBody("42")).toBe(42);
    expect(parseBody("hello")).toBe("hello");
  });

  it("turns a JSONL line into a send request", () => {
    expect(requestFromLine('{"to":"b,c","body":1}', "a")).toEqual({
      from: "a",
      to: ["b", "c"],
      body: 1,
    });
    expect(() => requestFromLine("[1]", "a")).toThrow(/JSON object/);
    expect(() => requestFromLine("{", "a")).toThrow(/not valid JSON/);
  });
});

describe("cli errors", () => {
  it("names the field unless the message does", () => {
    const bare = new SwitchboardError("TOO_LARGE", "too big", { field: "body" });
    expect(describeError(bare)).toBe("too big (field `body`)");
    const named = new SwitchboardError("INVALID_INPUT", "field `to`: bad", { field: "to" });
    expect(describeError(named)).toBe("field `to`: bad");
  });

  it("exits 2 for usage and input errors, 1 for failures, 0 for help", () => {
    expect(exitCodeFor(new SwitchboardError("CONFIG", "x"))).toBe(2);
    expect(exitCodeFor(new SwitchboardError("REDIS_UNAVAILABLE", "x"))).toBe(1);
    expect(exitCodeFor(new Error("x"))).toBe(1);
    expect(exitCodeFor(new CommanderError(1, "commander.unknownOption", "x"))).toBe(2);
    expect(exitCodeFor(new CommanderError(0, "commander.helpDisplayed", "x"))).toBe(0);
  });

  it("makes commander's messages one switchboard line", () => {
    expect(formatCommanderMessage("error: unknown option '--tox'\n(Did you mean --to?)\n")).toBe(
      "switchboard: unknown option '--tox' (Did you mean --to?)\n",
    );
  });

  it("lets options override the environment and names the option in errors", () => {
    const env = { SWITCHBOARD_PREFIX: "env" };
    expect(resolveSettings({ prefix: "flag" }, env).SWITCHBOARD_PREFIX).toBe("flag");
    expect(resolveSettings({}, env).SWITCHBOARD_PREFIX).toBe("env");
    expect(() => resolveSettings({ redisUrl: "http://x" }, {})).toThrow(/^option --redis-url: /);
  });
});
