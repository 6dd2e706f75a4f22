import { homedir } from "node:os";
import { join } from "node:path";

/**
 * What `switchboard install` writes for each MCP client, in the client's own format: Claude
 * Code's project `.mcp.json` and Cursor's `.cursor/mcp.json` (`{"mcpServers": {name: …}}`),
 * and Codex CLI's `~/.codex/config.toml` (`[mcp_servers.NAME]`). Pure: no file is touched
 * here.
 */
export const CLIENTS = ["claude", "cursor", "codex"] as const;
export type ClientName = (typeof CLIENTS)[number];

/** The variable a token is read from when none is written into the file. */
export const TOKEN_VARIABLE = "SWITCHBOARD_TOKEN";

/**
 * Codex stops waiting for a tool after 60 s by default, and `fetch_inbox` may wait 60 s.
 * @defaultValue 90
 */
export const CODEX_TOOL_TIMEOUT_SECONDS = 90;

/** The server as one client should start or reach it. */
export interface ServerSpec {
  /** The key under the client's servers, `switchboard`. */
  name: string;
  transport: "stdio" | "http";
  /** stdio: the program to run and its arguments (`stdio --agent NAME …`). */
  command: string;
  args: string[];
  /** stdio: variables to set, such as REDIS_URL (from the global options). */
  env: ReadonlyMap<string, string>;
  /** http: the MCP endpoint. */
  url: string;
  /** The agent's token, written into the file; without one the client's environment gives it. */
  token?: string;
}

/** The JSON-shaped configuration of one server, in a client's vocabulary. */
export type ServerEntry = Record<string, unknown>;

/** Where a client keeps the configuration `install` writes, unless `--file` says otherwise. */
export function defaultConfigFile(
  client: ClientName,
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  switch (client) {
    case "claude":
      return join(cwd, ".mcp.json");
    case "cursor":
      return join(cwd, ".cursor", "mcp.json");
    case "codex":
      return join(env.CODEX_HOME || join(homedir(), ".codex"), "config.toml");
  }
}

/** The format of a client's file. */
export function formatOf(client: ClientName): "json" | "toml" {
  return client === "codex" ? "toml" : "json";
}

/** The entry for `spec` in `client`'s configuration. */
export function serverEntry(client: ClientName, spec: ServerSpec): ServerEntry {
  switch (client) {
    case "claude":
      return claudeEntry(spec);
    case "cursor":
      return cursorEntry(spec);
    case "codex":
      return codexEntry(spec);
  }
}

/** Claude Code expands `${VAR}` and `${VAR:-default}` in command, args, env, url and headers. */
function claudeEntry(spec: ServerSpec): ServerEntry {
  if (spec.transport === "http") {
    const token = spec.token ?? `\${${TOKEN_VARIABLE}}`;
    return { type: "http", url: spec.url, headers: { Authorization: `Bearer ${token}` } };
  }
  const env = stdioEnv(spec, `\${${TOKEN_VARIABLE}:-}`);
  return { type: "stdio", command: spec.command, args: spec.args, env };
}

/** Cursor expands `${env:VAR}` in command, args, env, url and headers. */
function cursorEntry(spec: ServerSpec): ServerEntry {
  const reference = `\${env:${TOKEN_VARIABLE}}`;
  if (spec.transport === "http") {
    return { url: spec.url, headers: { Authorization: `Bearer ${spec.token ?? reference}` } };
  }
  return { command: spec.command, args: spec.args, env: stdioEnv(spec, reference) };
}

/**
 * Codex passes a stdio server only a few variables of its own environment, plus those named
 * in `env_vars`; over HTTP it reads the bearer token from `bearer_token_env_var`.
 */
function codexEntry(spec: ServerSpec): ServerEntry {
  if (spec.transport === "http") {
    const auth =
      spec.token === undefined
        ? { bearer_token_env_var: TOKEN_VARIABLE }
        : { http_headers: { Authorization: `Bearer ${spec.token}` } };
    return { url: spec.url, ...auth, tool_timeout_sec: CODEX_TOOL_TIMEOUT_SECONDS };
  }
  const entry: ServerEntry = { command: spec.command, args: spec.args };
  const env = stdioEnv(spec, undefined);
  if (Object.keys(env).length > 0) entry.env = env;
  if (spec.token === undefined) entry.env_vars = [TOKEN_VARIABLE];
  entry.tool_timeout_sec = CODEX_TOOL_TIMEOUT_SECONDS;
  return entry;
}

/** The stdio server's variables: the given ones, then the token (or a reference to it). */
function stdioEnv(spec: ServerSpec, tokenReference: string | undefined): Record<string, string> {
  const env = Object.fromEntries(spec.env);
  const token = spec.token ?? tokenReference;
  if (token !== undefined) env[TOKEN_VARIABLE] = token;
  return env;
}

/** What to do after the file is written, in a sentence or two. */
export function nextSteps(client: ClientName, spec: ServerSpec, agent: string): string[] {
  const steps: string[] = [];
  if (spec.transport === "http") steps.push("start the server first: switchboard serve");
  if (spec.token === undefined) {
    steps.push(
      `the token is read from ${TOKEN_VARIABLE} in the environment the client starts from; ` +
        `get one with \`switchboard agents register ${agent}\`, or pass --token to write it into the file` +
        (spec.transport === "stdio"
          ? ` (without one, the first start registers '${agent}' and logs its token)`
          : ""),
    );
  } else {
    steps.push("the file holds the agent's token: keep it out of version control");
  }
  steps.push(
    {
      claude:
        "start `claude` in this directory and approve the project server; `claude mcp list` shows it",
      cursor: "reload MCP servers in Cursor (Settings → MCP) or restart it",
      codex: "start `codex`; `/mcp` lists its servers",
    }[client],
  );
  return steps;
}
