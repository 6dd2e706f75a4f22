import { describe, expect, it } from "vitest";
import { CommanderError } from "commander";
import { loadPipeline } from "../../src/config/pipeline.js";
import { SwitchboardError } from "../../src/protocol/errors.js";
import { parseBody } from "../../src/cli/commands/send.js";
import { requestFromLine } from "../../src/cli/commands/send-file.js";
import { checkNoWorkersVariable } from "../../src/cli/lifecycle.js";
import { parseStages, withConcurrency } from "../../src/cli/commands/worker.js";
import { describeTarget } from "../../src/cli/commands/thread.js";
import {
  asOptionError,
  describeError,
  exitCodeFor,
  formatCommanderMessage,
  listenError,
} from "../../src/cli/errors.js";
import { integerBetween } from "../../src/cli/options.js";
import { logLevelFor, resolveSettings } from "../../src/cli/runtime.js";
import { formatBytes, formatDuration, formatTable, truncate } from "../../src/cli/table.js";
import { plural } from "../../src/protocol/words.js";

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

  it("formats sizes in powers of 1024", () => {
    expect([512, 1536, 12.3 * 1024 ** 2, 2 * 1024 ** 3, 5 * 1024 ** 5].map(formatBytes)).toEqual([
      "512B",
      "1.5K",
      "12.3M",
      "2.0G",
      "5120.0T",
    ]);
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
    expect(parseBody("42 apples")).toBe("42 apples");
  });

  it("refuses a body that starts like JSON and does not parse, naming where it breaks", () => {
    for (const broken of ['{"review": "please"', "[1, 2", ' {"a":1,}', '"unclosed']) {
      expect(() => parseBody(broken)).toThrow(
        /^--body starts like JSON but is not: .*position \d+.*--text/,
      );
    }
  });

  it("takes SWITCHBOARD_NO_WORKERS only when it says yes", () => {
    expect(() => checkNoWorkersVariable({})).not.toThrow();
    expect(() => checkNoWorkersVariable({ SWITCHBOARD_NO_WORKERS: "1" })).not.toThrow();
    expect(() => checkNoWorkersVariable({ SWITCHBOARD_NO_WORKERS: "false" })).toThrow(
      /SWITCHBOARD_NO_WORKERS="false" is not 1/,
    );
  });

  it("refuses numbers over an option's maximum, naming it, rather than cutting them down", () => {
    const wait = integerBetween(0, 60);
    expect(wait("0")).toBe(0);
    expect(wait("60")).toBe(60);
    expect(() => wait("120")).toThrow(/120 is over the maximum of 60/);
    expect(() => wait("-1")).toThrow(/from 0 to 60/);
    expect(() => integerBetween(1, 45)("0")).toThrow(/from 1 to 45/);
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

describe("cli words", () => {
  it("counts in singular and plural", () => {
    expect(plural(1, "message")).toBe("1 message");
    expect(plural(0, "message")).toBe("0 messages");
    expect(plural(1200, "dead letter")).toBe("1,200 dead letters");
    expect(plural(2, "entry", "entries")).toBe("2 entries");
  });

  it("shows the target of a message that reached no one", () => {
    expect(describeTarget({ kind: "capability", capability: "code-review", mode: "any" })).toBe(
      "capability code-review (any)",
    );
    expect(describeTarget({ kind: "topic", topic: "builds" })).toBe("topic builds");
    expect(describeTarget({ kind: "agents", agents: ["bob", "carol"] })).toBe("bob, carol");
  });

  it("keeps one-shot commands' logs to warnings unless a level is asked for", () => {
    const settings = resolveSettings({}, {});
    expect(logLevelFor({}, settings, false, {})).toBe("warn");
    expect(logLevelFor({}, settings, true, {})).toBe("info");
    expect(
      logLevelFor({ logLevel: "debug" }, resolveSettings({ logLevel: "debug" }, {}), false, {}),
    ).toBe("debug");
    const env = { SWITCHBOARD_LOG_LEVEL: "info" };
    expect(logLevelFor({}, resolveSettings({}, env), false, env)).toBe("info");
  });
});

describe("cli errors", () => {
  it("words a hint for each surface: MCP tools for agents, commands for the CLI", () => {
    const error = new SwitchboardError("NOT_FOUND", "no agent named 'zed'", {
      field: "to",
      hint: "listAgents",
    });
    expect(error.message).toBe("no agent named 'zed'; list_agents shows who is registered");
    expect(error.messageFor("mcp")).toBe(error.message);
    expect(error.messageFor("cli")).toBe(
      "no agent named 'zed'; `switchboard agents` shows who is registered",
    );
    expect(describeError(asOptionError(error, new Map([["to", "--to"]])))).toBe(
      "no agent named 'zed'; `switchboard agents` shows who is registered (--to)",
    );
    const taken = new SwitchboardError("NAME_TAKEN", "agent name 'rev' is registered already", {
      hint: "presentToken",
    });
    expect(taken.message).toMatch(/Authorization: Bearer … or SWITCHBOARD_TOKEN/);
    expect(describeError(taken)).toMatch(/give its token with --token/);
    expect(describeError(taken)).not.toMatch(/Authorization|SWITCHBOARD_TOKEN/);
  });

  it("names the option a listen failed on, without a stack", () => {
    const inUse = Object.assign(new Error("listen EADDRINUSE"), { code: "EADDRINUSE" });
    const error = listenError(inUse, {
      host: "127.0.0.1",
      port: 8787,
      portOption: "--port (SWITCHBOARD_PORT)",
      hostOption: "--host (SWITCHBOARD_HOST)",
    });
    expect(describeError(error)).toBe(
      "port 8787 on 127.0.0.1 is in use (another switchboard?); choose another with --port (SWITCHBOARD_PORT), or 0 for any free port",
    );
    expect(exitCodeFor(error)).toBe(2);
  });

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
