import { Option, type Command } from "commander";
import { Registry } from "../../agents/registry.js";
import { AGENT_STATUSES, agentNotFound, type AgentView } from "../../protocol/agent.js";
import { SwitchboardError } from "../../protocol/errors.js";
import { usageError } from "../errors.js";
import { globalOptions, splitList, withExamples } from "../options.js";
import { noteUnusedPrefix } from "../presence.js";
import { credentialsFile, withRuntime, type Runtime } from "../runtime.js";
import { withService } from "../service.js";
import { formatDuration, formatTable, truncate } from "../table.js";

interface ListOptions {
  capability?: string;
  status?: (typeof AGENT_STATUSES)[number];
  json?: boolean;
}

interface RegisterOptions {
  capabilities?: string;
  description?: string;
  webhookUrl?: string;
  token?: string;
  json?: boolean;
}

/** `switchboard agents`: list, register and remove agents. */
export function registerAgents(program: Command): void {
  const agents = program
    .command("agents")
    .description("list the registered agents (and register or remove one)");
  const list = agents
    .command("list", { isDefault: true })
    .description("list the registered agents (the default)")
    .option(
      "--capability <capability>",
      "only agents with this capability, e.g. code-review or python@3",
    )
    .addOption(
      new Option("--status <status>", "only agents in this status").choices(AGENT_STATUSES),
    )
    .option("--json", "print a JSON array")
    .action(listAgents);
  withExamples(agents, [
    "switchboard agents",
    "switchboard agents --capability code-review --status online --json",
    "switchboard agents register reviewer --capabilities code-review,python@3.12",
    "switchboard agents remove reviewer",
    "switchboard agents token reviewer --rotate",
  ]);
  withExamples(list, ["switchboard agents list --status online"]);

  const register = agents
    .command("register <name>")
    .description("register an agent (or update it, with --token) and print its token")
    .option(
      "--capabilities <list>",
      "what it can do, comma-separated, e.g. code-review,python@3.12",
    )
    .option("--description <text>", "who it is and what it does")
    .option("--webhook-url <url>", "where messages are POSTed for push delivery")
    .option("--token <token>", "its token, to update an agent registered before")
    .option("--json", "print the agent and token as JSON")
    .action(registerAgent);
  withExamples(register, ["switchboard agents register reviewer --capabilities code-review"]);

  const remove = agents
    .command("remove <name>")
    .description("unregister an agent: its token stops working; its inbox stays until retention")
    .option("--json", "print {name, removed} as JSON")
    .action(removeAgent);
  withExamples(remove, ["switchboard agents remove reviewer"]);

  const token = agents
    .command("token <name>")
    .description(
      "give an agent a new token (--rotate); tokens are kept only as hashes, so none can be shown",
    )
    .option("--rotate", "make a new token and print it; the old one stops working at once")
    .option(
      "--save",
      "also keep it in this machine's credentials file, for `switchboard stdio --agent NAME` here",
    )
    .option("--json", "print the name, the token and the credentials file as JSON")
    .action(agentToken);
  withExamples(token, [
    "switchboard agents token reviewer --rotate",
    "switchboard agents token reviewer --rotate --save --json",
  ]);

  const admin = agents
    .command("admin <name>")
    .description(
      "let an agent call the admin tools (dlq_list, dlq_replay, dlq_purge, break_lease); --revoke takes it back",
    )
    .option("--revoke", "make it an ordinary agent again")
    .option("--json", "print {name, role} as JSON")
    .action(setAdmin);
  withExamples(admin, [
    "switchboard agents admin ops-bot",
    "switchboard agents admin ops-bot --revoke",
  ]);
}

async function listAgents(options: ListOptions, command: Command): Promise<void> {
  const agents = await withRuntime(globalOptions(command), async (runtime) => {
    await noteUnusedPrefix(runtime);
    return registryOf(runtime).list({ capability: options.capability, status: options.status });
  });
  if (options.json === true) process.stdout.write(`${JSON.stringify(agents, null, 2)}\n`);
  else if (agents.length === 0) process.stdout.write("(no agents registered)\n");
  else process.stdout.write(`${formatAgents(agents, Date.now())}\n`);
}

async function registerAgent(
  name: string,
  options: RegisterOptions,
  command: Command,
): Promise<void> {
  const result = await withService(globalOptions(command), (service) =>
    service.register(
      {
        name,
        capabilities: options.capabilities === undefined ? [] : splitList(options.capabilities),
        description: options.description,
        webhook_url: options.webhookUrl,
      },
      options.token,
    ),
  );
  if (options.json === true) {
    process.stdout.write(
      `${JSON.stringify({ ...result.agent, token: result.token, created: result.created })}\n`,
    );
    return;
  }
  process.stdout.write(
    `${result.created ? "registered" : "updated"} ${name}\ntoken: ${result.token}\n`,
  );
  process.stderr.write(
    "Keep the token: it makes a session or process this agent (SWITCHBOARD_TOKEN, or Authorization: Bearer).\n",
  );
}

async function removeAgent(
  name: string,
  options: { json?: boolean },
  command: Command,
): Promise<void> {
  await withService(globalOptions(command), async (service) => {
    await service.agent(name);
    await service.unregister(name);
  });
  process.stdout.write(
    options.json === true ? `${JSON.stringify({ name, removed: true })}\n` : `removed ${name}\n`,
  );
}

async function setAdmin(
  name: string,
  options: { revoke?: boolean; json?: boolean },
  command: Command,
): Promise<void> {
  const revoke = options.revoke === true;
  const found = await withRuntime(globalOptions(command), (runtime) =>
    registryOf(runtime).setRole(name, revoke ? undefined : "admin"),
  );
  if (!found) {
    throw new SwitchboardError("NOT_FOUND", `no agent named '${name}'`, { hint: "listAgents" });
  }
  if (options.json === true) {
    process.stdout.write(`${JSON.stringify({ name, role: revoke ? null : "admin" })}\n`);
  } else {
    process.stdout.write(revoke ? `${name} is no longer admin\n` : `${name} is admin\n`);
  }
}

interface TokenOptions {
  rotate?: boolean;
  save?: boolean;
  json?: boolean;
}

/**
 * `agents token NAME --rotate`: a new token, printed; the old one stops working at once. A
 * credentials file this machine keeps for the name (`switchboard stdio`) gets the new token
 * too (made, with --save), so a restart here is the agent again.
 */
async function agentToken(name: string, options: TokenOptions, command: Command): Promise<void> {
  const rotated = await withRuntime(globalOptions(command), async (runtime) => {
    const registry = registryOf(runtime);
    if ((await registry.get(name)) === undefined) throw agentNotFound(name);
    if (options.rotate !== true) return undefined;
    const token = await registry.rotateToken(name);
    if (token === undefined) {
      throw new SwitchboardError("NOT_FOUND", `agent '${name}' was removed while rotating`);
    }
    const file = credentialsFile(runtime, name);
    const keep = options.save === true || (await file.read()) !== undefined;
    if (keep) await file.save(token);
    return { token, file: keep ? file.path : undefined };
  });
  if (rotated === undefined) {
    throw usageError(
      `the token of '${name}' cannot be shown: tokens are kept only as SHA-256 hashes; ` +
        `\`switchboard agents token ${name} --rotate\` gives it a new one (printed once; the old one stops working at once)`,
      "--rotate",
    );
  }
  if (options.json === true) {
    process.stdout.write(
      `${JSON.stringify({ name, token: rotated.token, credentials_file: rotated.file ?? null })}\n`,
    );
    return;
  }
  process.stdout.write(`rotated ${name}\ntoken: ${rotated.token}\n`);
  process.stderr.write(
    `The old token stopped working; whoever acts as '${name}' needs the new one (SWITCHBOARD_TOKEN, or Authorization: Bearer).\n` +
      (rotated.file === undefined
        ? ""
        : `Kept in ${rotated.file}: \`switchboard stdio --agent ${name}\` on this machine uses it from its next start.\n`),
  );
}

/**
 * The registry itself, for what only an operator does: list every agent as it is
 * registered (webhook URLs whole), grant the admin role, rotate a token.
 */
function registryOf(runtime: Runtime): Registry {
  return new Registry(runtime.redis, runtime.keys, runtime.pipeline);
}

function formatAgents(agents: readonly AgentView[], now: number): string {
  return formatTable(
    [
      { header: "name" },
      { header: "status" },
      { header: "role" },
      { header: "last seen", align: "right" },
      { header: "capabilities" },
      { header: "delivery" },
      { header: "description" },
    ],
    agents.map((a) => [
      a.name,
      a.status,
      a.role ?? "",
      formatDuration(now - Date.parse(a.last_seen)),
      truncate(a.capabilities.join(", "), 40),
      a.delivery,
      truncate(a.description ?? "", 40),
    ]),
  );
}
