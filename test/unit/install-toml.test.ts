import { describe, expect, it } from "vitest";
import {
  renderTable,
  TomlShapeError,
  tomlString,
  upsertTable,
} from "../../src/cli/commands/install-toml.js";

/** `switchboard install codex` puts one table into a config.toml it does not otherwise touch. */
const PATH = ["mcp_servers", "switchboard"];
const TABLE = renderTable(PATH, { command: "switchboard", args: ["stdio", "--agent", "codex"] });

describe("renderTable", () => {
  it("writes a header and one line per key, quoting what is not a bare key", () => {
    expect(
      renderTable(["mcp_servers", "my server"], {
        url: "http://127.0.0.1:8787/mcp",
        env: { SWITCHBOARD_TOKEN: "sbt_x", "odd key": 'a"b\\c' },
        env_vars: ["SWITCHBOARD_TOKEN"],
        tool_timeout_sec: 90,
      }),
    ).toBe(
      [
        '[mcp_servers."my server"]',
        'url = "http://127.0.0.1:8787/mcp"',
        'env = { SWITCHBOARD_TOKEN = "sbt_x", "odd key" = "a\\"b\\\\c" }',
        'env_vars = ["SWITCHBOARD_TOKEN"]',
        "tool_timeout_sec = 90",
        "",
      ].join("\n"),
    );
  });

  it("escapes every control character, DEL included", () => {
    const every = String.fromCharCode(...Array.from({ length: 0xa0 }, (_, i) => i));
    const written = tomlString(every);
    // eslint-disable-next-line no-control-regex
    expect(written).not.toMatch(/[\x00-\x08\x0a-\x1f\x7f]/);
    expect(JSON.parse(written)).toBe(every);
  });
});

describe("upsertTable", () => {
  it("appends the table to a file without it, leaving the rest as it was", () => {
    const file = 'model = "o3"\n\n[mcp_servers.docs]\ncommand = "docs-server"\n';
    expect(upsertTable(file, PATH, TABLE)).toBe(`${file}\n${TABLE}`);
  });

  it("replaces the old table and its sub-tables in place, keeping what follows", () => {
    const file = [
      'model = "o3"',
      "",
      "[mcp_servers.switchboard]",
      'command = "old"',
      "args = [",
      '  "stdio",',
      "]",
      "",
      "[mcp_servers.switchboard.env]",
      'SWITCHBOARD_TOKEN = "sbt_old"',
      "",
      "[mcp_servers.docs]",
      'command = "docs-server"',
      "",
    ].join("\n");
    const merged = upsertTable(file, PATH, TABLE);
    expect(merged).toBe(
      [
        'model = "o3"',
        "",
        TABLE.trimEnd(),
        "",
        "[mcp_servers.docs]",
        'command = "docs-server"',
        "",
      ].join("\n"),
    );
    expect(upsertTable(merged, PATH, TABLE)).toBe(merged);
  });

  it("finds the header however it is quoted and spaced", () => {
    const file = '[ mcp_servers . "switchboard" ]\ncommand = "old"\n';
    expect(upsertTable(file, PATH, TABLE)).toBe(TABLE);
  });

  it("does not take text inside strings for a header", () => {
    const file = [
      'notes = """',
      "[mcp_servers.switchboard]",
      'command = "in a string"',
      '"""',
      "other = '[mcp_servers.switchboard]'",
      "",
    ].join("\n");
    expect(upsertTable(file, PATH, TABLE)).toBe(`${file}\n${TABLE}`);
  });

  it("keeps CRLF line endings", () => {
    const file = "[other]\r\nx = 1\r\n";
    expect(upsertTable(file, PATH, TABLE)).toBe(
      `[other]\r\nx = 1\r\n\r\n${TABLE.replace(/\n/g, "\r\n")}`,
    );
  });

  it.each([
    [
      "a line that is not TOML",
      'model = "o3"\nthis is not toml\n',
      /line 2: expected `key = value`/,
    ],
    ["JSON", '{"mcpServers": {}}\n', /line 1/],
    ["an unclosed string", 'model = "o3\n', /line 1: a string is not closed/],
    ["an unclosed array", "args = [\n  1,\n", /an array or table is not closed/],
    ["an unclosed header", "[mcp_servers\n", /line 1: a table header/],
    ["a pair without a value", "model =\n", /line 1: expected a value/],
    ["an unclosed multi-line string", 'a = """\ntext\n', /multi-line string/],
  ])("refuses %s", (_, file, message) => {
    expect(() => upsertTable(file, PATH, TABLE)).toThrow(TomlShapeError);
    expect(() => upsertTable(file, PATH, TABLE)).toThrow(message);
  });

  it.each([
    ["dotted keys", '[mcp_servers]\nswitchboard.command = "x"\n'],
    ["an inline table of it", '[mcp_servers]\nswitchboard = { command = "x" }\n'],
    ["an inline table of its parent", 'mcp_servers = { docs = { command = "x" } }\n'],
  ])("refuses a file that defines it with %s, which a new table would clash with", (_, file) => {
    expect(() => upsertTable(file, PATH, TABLE)).toThrow(/make it a \[table\] of its own/);
  });
});
