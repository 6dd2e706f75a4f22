import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { finished, ROOT, type RunResult } from "../support/cli.js";

/**
 * `switchboard install claude|cursor|codex`, run as a user would: in a project directory,
 * with a HOME of its own (Codex's file is under it), against files that exist or not.
 */
let project: string;
let home: string;

beforeEach(async () => {
  project = await mkdtemp(join(tmpdir(), "switchboard-install-project-"));
  home = await mkdtemp(join(tmpdir(), "switchboard-install-home-"));
});

afterEach(async () => {
  await rm(project, { recursive: true, force: true });
  await rm(home, { recursive: true, force: true });
});

/** `switchboard install ARGS` in the project directory, with HOME (and no CODEX_HOME) set. */
function install(...args: string[]): Promise<RunResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
  delete env.CODEX_HOME;
  const child = spawn(process.execPath, [join(ROOT, "bin", "switchboard.js"), "install", ...args], {
    cwd: project,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  return finished(child);
}

const readJson = async (path: string) => JSON.parse(await readFile(path, "utf8")) as unknown;

describe("switchboard install claude", () => {
  it("writes the project's .mcp.json: the stdio form, the agent named after the client", async () => {
    const result = await install("claude");
    expect(result.code, result.stderr).toBe(0);
    const file = join(project, ".mcp.json");
    expect(await readJson(file)).toEqual({
      mcpServers: {
        switchboard: {
          type: "stdio",
          command: "switchboard",
          args: ["stdio", "--agent", "claude"],
          env: { SWITCHBOARD_TOKEN: "${SWITCHBOARD_TOKEN:-}" },
        },
      },
    });
    expect(result.stdout).toContain(
      `wrote server 'switchboard' (stdio: switchboard stdio --agent claude) to ${file}`,
    );
    expect(result.stdout).toContain("next: ");
    expect(result.stdout).toContain("switchboard agents register claude");
  });

  it("merges into an existing file: other servers and keys stay, ours is replaced", async () => {
    const file = join(project, ".mcp.json");
    const other = { type: "stdio", command: "docs-server", args: ["--port", "4000"] };
    await writeFile(
      file,
      JSON.stringify({ mcpServers: { docs: other, switchboard: { command: "old" } }, extra: [1] }),
    );
    const result = await install(
      "claude",
      "--agent",
      "reviewer",
      "--capabilities",
      "code-review,python@3.12",
      "--token",
      "sbt_secret",
      "--redis-url",
      "redis://127.0.0.1:6390",
    );
    expect(result.code, result.stderr).toBe(0);
    expect(await readJson(file)).toEqual({
      mcpServers: {
        docs: other,
        switchboard: {
          type: "stdio",
          command: "switchboard",
          args: ["stdio", "--agent", "reviewer", "--capabilities", "code-review,python@3.12"],
          env: { REDIS_URL: "redis://127.0.0.1:6390", SWITCHBOARD_TOKEN: "sbt_secret" },
        },
      },
      extra: [1],
    });
    expect(result.stdout).toContain("keep it out of version control");
  });

  it("writes the HTTP form with --http: the URL and a bearer header", async () => {
    const result = await install("claude", "--http", "--url", "http://127.0.0.1:9999/mcp");
    expect(result.code, result.stderr).toBe(0);
    expect(await readJson(join(project, ".mcp.json"))).toEqual({
      mcpServers: {
        switchboard: {
          type: "http",
          url: "http://127.0.0.1:9999/mcp",
          headers: { Authorization: "Bearer ${SWITCHBOARD_TOKEN}" },
        },
      },
    });
    expect(result.stdout).toContain("start the server first");
  });
});

describe("switchboard install cursor", () => {
  it("writes .cursor/mcp.json, creating the directory", async () => {
    const result = await install("cursor", "--agent", "cursor-bot");
    expect(result.code, result.stderr).toBe(0);
    expect(await readJson(join(project, ".cursor", "mcp.json"))).toEqual({
      mcpServers: {
        switchboard: {
          command: "switchboard",
          args: ["stdio", "--agent", "cursor-bot"],
          env: { SWITCHBOARD_TOKEN: "${env:SWITCHBOARD_TOKEN}" },
        },
      },
    });
  });

  it("merges the HTTP form into an existing file and prints what it wrote with --json", async () => {
    await mkdir(join(project, ".cursor"));
    const file = join(project, ".cursor", "mcp.json");
    await writeFile(
      file,
      JSON.stringify({ mcpServers: { docs: { url: "https://docs.example/mcp" } } }),
    );
    const result = await install("cursor", "--http", "--token", "sbt_c", "--json");
    expect(result.code, result.stderr).toBe(0);
    const entry = { url: "http://127.0.0.1:8787/mcp", headers: { Authorization: "Bearer sbt_c" } };
    expect(await readJson(file)).toEqual({
      mcpServers: { docs: { url: "https://docs.example/mcp" }, switchboard: entry },
    });
    expect(JSON.parse(result.stdout)).toEqual({
      client: "cursor",
      file,
      server: "switchboard",
      transport: "http",
      agent: "cursor",
      config: entry,
      written: true,
    });
  });
});

describe("switchboard install codex", () => {
  const config = () => join(home, ".codex", "config.toml");

  it("writes ~/.codex/config.toml: the table, the token passed through, a tool timeout over 60 s", async () => {
    const result = await install("codex");
    expect(result.code, result.stderr).toBe(0);
    expect(await readFile(config(), "utf8")).toBe(
      [
        "[mcp_servers.switchboard]",
        'command = "switchboard"',
        'args = ["stdio", "--agent", "codex"]',
        'env_vars = ["SWITCHBOARD_TOKEN"]',
        "tool_timeout_sec = 90",
        "",
      ].join("\n"),
    );
    expect(result.stdout).toContain(`to ${config()}`);
  });

  it("replaces only its own table in an existing file", async () => {
    await mkdir(join(home, ".codex"));
    const before = [
      "# my Codex settings",
      'model = "o3"  # the model',
      "[profiles.fast]",
      'model = "o4-mini"',
      "[mcp_servers.switchboard]",
      'command = "old-switchboard"',
      'env = { SWITCHBOARD_TOKEN = "sbt_old" }',
      "[mcp_servers.docs]",
      'command = "docs-server"',
      "",
    ].join("\n");
    await writeFile(config(), before);
    const result = await install("codex", "--http", "--token", "sbt_new");
    expect(result.code, result.stderr).toBe(0);
    expect(await readFile(config(), "utf8")).toBe(
      [
        "# my Codex settings",
        'model = "o3"  # the model',
        "[profiles.fast]",
        'model = "o4-mini"',
        "[mcp_servers.switchboard]",
        'url = "http://127.0.0.1:8787/mcp"',
        'http_headers = { Authorization = "Bearer sbt_new" }',
        "tool_timeout_sec = 90",
        "",
        "[mcp_servers.docs]",
        'command = "docs-server"',
        "",
      ].join("\n"),
    );
  });
});

describe("switchboard install --print", () => {
  it.each([
    ["claude", ".mcp.json"],
    ["cursor", ".cursor/mcp.json"],
  ])("prints %s's configuration and writes nothing", async (client, path) => {
    const result = await install(client, "--print");
    expect(result.code, result.stderr).toBe(0);
    const printed = JSON.parse(result.stdout) as { mcpServers: Record<string, { args: string[] }> };
    expect(printed.mcpServers.switchboard!.args).toEqual(["stdio", "--agent", client]);
    expect(existsSync(join(project, path))).toBe(false);
  });

  it("prints codex's table and writes nothing", async () => {
    const result = await install("codex", "--print");
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^\[mcp_servers\.switchboard\]\ncommand = "switchboard"\n/);
    expect(existsSync(join(home, ".codex"))).toBe(false);
  });
});

describe("switchboard install with a file it cannot read", () => {
  it.each([
    ["claude", ".mcp.json", '{"mcpServers": {', /is not valid JSON/],
    ["cursor", ".cursor/mcp.json", '["a list"]', /is JSON, but not an object/],
    ["claude", ".mcp.json", '{"mcpServers": []}', /"mcpServers" that is not an object/],
  ])("%s: refuses %s holding %s and leaves it as it was", async (client, path, text, message) => {
    await mkdir(join(project, ".cursor"), { recursive: true });
    await writeFile(join(project, path), text);
    const result = await install(client);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain(join(project, path));
    expect(result.stderr).toContain("nothing was written");
    expect(await readFile(join(project, path), "utf8")).toBe(text);
  });

  it("codex: refuses a config.toml that is not TOML and leaves it as it was", async () => {
    await mkdir(join(home, ".codex"));
    const text = 'model = "o3"\n[mcp_servers.docs\ncommand = "docs-server"\n';
    await writeFile(join(home, ".codex", "config.toml"), text);
    const result = await install("codex");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("is not a TOML file this command can merge into (line 2:");
    expect(await readFile(join(home, ".codex", "config.toml"), "utf8")).toBe(text);
  });

  it("refuses an agent name register_agent would refuse, naming the option", async () => {
    const result = await install("claude", "--agent", "no spaces");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--agent");
    expect(existsSync(join(project, ".mcp.json"))).toBe(false);
  });
});
