import { resolve } from "node:path";
import { Argument, InvalidArgumentError, type Command } from "commander";
import { AgentNameSchema } from "../../protocol/envelope.js";
import { globalOptions, splitList, withExamples } from "../options.js";
import {
  CLIENTS,
  defaultConfigFile,
  formatOf,
  nextSteps,
  serverEntry,
  type ClientName,
  type ServerSpec,
} from "./install-clients.js";
import { readIfExists } from "../../config/files.js";
import { mergeServer, serverSnippet, writeConfigFile } from "./install-files.js";

/** The server's key in a client's configuration. */
const SERVER_NAME = "switchboard";
/** The program a client runs for the stdio form. @defaultValue "switchboard" */
const DEFAULT_COMMAND = "switchboard";
/** The endpoint of the HTTP form: `switchboard serve` with its defaults. @defaultValue "http://127.0.0.1:8787/mcp" */
const DEFAULT_URL = "http://127.0.0.1:8787/mcp";

interface InstallOptions {
  agent?: string;
  capabilities?: string[];
  http?: boolean;
  url: string;
  token?: string;
  file?: string;
  command: string;
  print?: boolean;
  json?: boolean;
}

/** `switchboard install CLIENT`: writes (or prints) an MCP client's configuration for this server. */
export function registerInstall(program: Command): void {
  const command = program
    .command("install")
    .description(
      "add Switchboard to an MCP client's configuration (Claude Code, Cursor, Codex CLI)",
    )
    .addArgument(new Argument("<client>", "the client to configure").choices(CLIENTS))
    .option(
      "--agent <name>",
      "the agent the client acts as (default: the client's name)",
      agentName,
    )
    .option("--capabilities <list>", "stdio: capabilities to register, comma-separated", splitList)
    .option("--http", "reach a running `switchboard serve` over HTTP instead of spawning stdio")
    .option("--url <url>", "with --http: the MCP endpoint", httpUrl, DEFAULT_URL)
    .option(
      "--token <token>",
      "the agent's token, written into the file (default: read from SWITCHBOARD_TOKEN)",
    )
    .option("--file <path>", "the file to write (default: the client's usual one, see below)")
    .option("--command <program>", "stdio: the program the client runs", DEFAULT_COMMAND)
    .option("--print", "print the configuration instead of writing it")
    .option("--json", "print what was written (or would be) as JSON")
    .addHelpText(
      "after",
      "\nFiles: claude → ./.mcp.json (project), cursor → ./.cursor/mcp.json (project),\n" +
        "codex → $CODEX_HOME/config.toml (default ~/.codex/config.toml). Other servers in the file\n" +
        "are kept; a file that is not valid JSON or TOML is refused, not overwritten. The stdio\n" +
        "form runs `switchboard stdio --agent NAME`, with REDIS_URL, REDIS_CLUSTER_NODES,\n" +
        "SWITCHBOARD_PREFIX and SWITCHBOARD_PIPELINE set when given as --redis-url,\n" +
        "--redis-cluster-nodes, --prefix, --pipeline.",
    )
    .action(install);
  withExamples(command, [
    "switchboard install claude",
    "switchboard install cursor --agent cursor-bot --capabilities typescript",
    "switchboard install codex --http --token sbt_…",
    "switchboard install claude --print",
  ]);
}

async function install(
  client: ClientName,
  options: InstallOptions,
  command: Command,
): Promise<void> {
  const agent = options.agent ?? client;
  const spec = serverSpec(agent, options, command);
  const format = formatOf(client);
  const entry = serverEntry(client, spec);
  const file = resolve(options.file ?? defaultConfigFile(client, process.cwd()));
  const snippet = serverSnippet(format, SERVER_NAME, entry);
  const report = {
    client,
    file,
    server: SERVER_NAME,
    transport: spec.transport,
    agent,
    config: entry,
  };
  if (options.print === true) {
    process.stdout.write(
      options.json === true ? `${JSON.stringify({ ...report, written: false })}\n` : snippet,
    );
    return;
  }
  const merged = mergeServer(format, file, await readIfExists(file), SERVER_NAME, entry);
  await writeConfigFile(file, merged);
  if (options.json === true) {
    process.stdout.write(`${JSON.stringify({ ...report, written: true })}\n`);
    return;
  }
  const how =
    spec.transport === "http"
      ? `http: ${spec.url}`
      : `stdio: ${[spec.command, ...spec.args].join(" ")}`;
  const lines = [`wrote server '${SERVER_NAME}' (${how}) to ${file}`];
  for (const step of nextSteps(client, spec, agent)) lines.push(`next: ${step}`);
  process.stdout.write(`${lines.join("\n")}\n`);
}

/** The server as the options describe it; the global options become the stdio server's variables. */
function serverSpec(agent: string, options: InstallOptions, command: Command): ServerSpec {
  const globals = globalOptions(command);
  const env = new Map<string, string>();
  if (globals.redisUrl !== undefined) env.set("REDIS_URL", globals.redisUrl);
  if (globals.redisClusterNodes !== undefined) {
    env.set("REDIS_CLUSTER_NODES", globals.redisClusterNodes);
  }
  if (globals.prefix !== undefined) env.set("SWITCHBOARD_PREFIX", globals.prefix);
  if (globals.pipeline !== undefined) env.set("SWITCHBOARD_PIPELINE", resolve(globals.pipeline));
  const args = ["stdio", "--agent", agent];
  if (options.capabilities !== undefined && options.capabilities.length > 0) {
    args.push("--capabilities", options.capabilities.join(","));
  }
  const token = options.token?.trim();
  return {
    name: SERVER_NAME,
    transport: options.http === true ? "http" : "stdio",
    command: options.command,
    args,
    env,
    url: options.url,
    token: token === undefined || token === "" ? undefined : token,
  };
}

/** An agent name, checked as `register_agent` would check it. */
function agentName(value: string): string {
  const result = AgentNameSchema.safeParse(value);
  if (!result.success) throw new InvalidArgumentError(`${result.error.issues[0]!.message}.`);
  return value;
}

/** An http(s) URL. */
function httpUrl(value: string): string {
  if (!URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) {
    throw new InvalidArgumentError(
      "expected an http:// or https:// URL, such as http://127.0.0.1:8787/mcp.",
    );
  }
  return value;
}
