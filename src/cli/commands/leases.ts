import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { Option, type Command } from "commander";
import type { z } from "zod";
import { guardCommit } from "../../leases/guard.js";
import { LeaseStore } from "../../leases/store.js";
import { AgentNameSchema } from "../../protocol/envelope.js";
import { LeaseIdSchema, ResourceSchema } from "../../protocol/lease-tools.js";
import { describeIssues } from "../../protocol/issues.js";
import type { LeaseView } from "../../service/leases.js";
import { usageError } from "../errors.js";
import { globalOptions, splitList, withExamples } from "../options.js";
import { withRuntime } from "../runtime.js";
import { serviceOf, withService } from "../service.js";
import { formatDuration, formatTable, truncate } from "../table.js";

interface ListOptions {
  resource?: string;
  holder?: string;
  json?: boolean;
}

interface GuardOptions {
  agent?: string;
  token?: string;
  fencingToken?: string;
  repo?: string;
  json?: boolean;
}

/** `switchboard leases`: the live resource leases; break one; the pre-commit guard. */
export function registerLeases(program: Command): void {
  const leases = program
    .command("leases")
    .description("list the resource leases of agents (and break one, or guard a commit)");
  leases
    .command("list", { isDefault: true })
    .description("list the live leases, soonest to expire first (the default)")
    .option("--resource <glob>", "only leases overlapping this path, glob or name")
    .option("--holder <agent>", "only leases of this agent")
    .option("--json", "print a JSON array")
    .action(listLeases);
  leases
    .command("break <lease-id>")
    .description("end a lease now; its holder and the agents waiting for it are told")
    .option("--reason <text>", "why, for the holder")
    .option("--json", "print the broken lease as JSON")
    .action(breakLease);
  const guard = leases
    .command("guard")
    .description(
      "Git pre-commit hook: refuse a commit of staged paths another agent holds exclusively, or that this agent holds under a stale fencing token",
    )
    .addOption(
      new Option("--agent <name>", "the agent committing (or give its token)").env(
        "SWITCHBOARD_AGENT",
      ),
    )
    .addOption(
      new Option("--token <token>", "the committing agent's token, naming it").env(
        "SWITCHBOARD_TOKEN",
      ),
    )
    .addOption(
      new Option(
        "--fencing-token <list>",
        "the fencing tokens of the agent's leases (acquire_lease's fencing_token), comma-separated",
      ).env("SWITCHBOARD_FENCING_TOKEN"),
    )
    .option("--repo <dir>", "the Git repository (default: the current directory)")
    .option("--json", "print {paths, refusals} as JSON")
    .action(guardStaged);
  guard.addHelpText(
    "after",
    "\nInstall it in a repository (each agent's checkout):\n" +
      "  printf '#!/bin/sh\\nexec npx switchboard leases guard\\n' > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit\n" +
      "The agent commits with SWITCHBOARD_AGENT (or SWITCHBOARD_TOKEN) and SWITCHBOARD_FENCING_TOKEN set,\n" +
      "and the Redis settings (REDIS_URL, SWITCHBOARD_PREFIX) of its Switchboard. Exit 1 refuses the commit.",
  );
  withExamples(leases, [
    "switchboard leases",
    "switchboard leases list --resource 'src/auth/**' --json",
    "switchboard leases break 01933c1e-… --reason 'agent stuck'",
    "SWITCHBOARD_AGENT=ada SWITCHBOARD_FENCING_TOKEN=17 switchboard leases guard",
  ]);
}

/** A value of an argument or option, checked with the tools' schema; a usage error naming it. */
function checked<T>(schema: z.ZodType<T>, value: unknown, option: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw usageError(
    describeIssues(parsed.error, 1, () => option),
    option,
  );
}

async function listLeases(options: ListOptions, command: Command): Promise<void> {
  const filter = {
    resource:
      options.resource === undefined
        ? undefined
        : checked(ResourceSchema, options.resource, "--resource"),
    holder:
      options.holder === undefined
        ? undefined
        : checked(AgentNameSchema, options.holder, "--holder"),
  };
  const leases = await withService(globalOptions(command), (service) =>
    service.leases.list(filter),
  );
  if (options.json === true) process.stdout.write(`${JSON.stringify(leases, null, 2)}\n`);
  else if (leases.length === 0) process.stdout.write("(no live leases)\n");
  else process.stdout.write(`${formatLeases(leases, Date.now())}\n`);
}

async function breakLease(
  id: string,
  options: { reason?: string; json?: boolean },
  command: Command,
): Promise<void> {
  const leaseId = checked(LeaseIdSchema, id, "lease-id");
  const lease = await withService(globalOptions(command), (service) =>
    service.leases.breakLease("operator", leaseId, options.reason),
  );
  process.stdout.write(
    options.json === true
      ? `${JSON.stringify(lease)}\n`
      : `broke lease ${lease.lease_id} of ${lease.holder} on ${lease.resources.join(", ")}\n`,
  );
}

/** The staged paths of the repository: what the commit would change. */
async function stagedPaths(repo: string | undefined): Promise<string[]> {
  const args = [
    ...(repo === undefined ? [] : ["-C", repo]),
    "diff",
    "--cached",
    "--name-only",
    "-z",
  ];
  const { stdout } = await promisify(execFile)("git", args, { maxBuffer: 64 * 1024 * 1024 });
  return stdout.split("\0").filter((p) => p !== "");
}

function fencingTokens(list: string | undefined): number[] {
  if (list === undefined) return [];
  return splitList(list).map((item) => {
    if (!/^\d{1,15}$/.test(item)) {
      throw usageError(
        `'${item}' is not a fencing token: give the whole numbers acquire_lease returned as fencing_token, comma-separated`,
        "--fencing-token",
      );
    }
    return Number(item);
  });
}

async function guardStaged(options: GuardOptions, command: Command): Promise<void> {
  const tokens = fencingTokens(options.fencingToken);
  const paths = await stagedPaths(options.repo);
  const result = await withRuntime(globalOptions(command), async (runtime) => {
    const agent =
      options.agent === undefined
        ? options.token === undefined
          ? undefined
          : await serviceOf(runtime).authenticate(options.token)
        : checked(AgentNameSchema, options.agent, "--agent");
    if (agent === undefined) {
      throw usageError(
        "name the agent committing: SWITCHBOARD_AGENT=NAME (or --agent), or its SWITCHBOARD_TOKEN",
        "--agent",
      );
    }
    const table = await new LeaseStore(runtime.redis, runtime.keys).table();
    return { agent, refusals: guardCommit(table, paths, agent, tokens) };
  });
  if (options.json === true) {
    process.stdout.write(
      `${JSON.stringify({ agent: result.agent, paths, refusals: result.refusals })}\n`,
    );
  }
  if (result.refusals.length === 0) {
    process.stderr.write(
      `switchboard leases guard: ${paths.length} staged paths, none leased to another agent\n`,
    );
    return;
  }
  const lines = result.refusals.map((r) => `  ${r.path ?? "(fencing token)"}: ${r.message}`);
  process.stderr.write(
    `switchboard leases guard: commit refused for '${result.agent}':\n${lines.join("\n")}\n` +
      "Unstage those paths, wait for the lease (acquire_lease with wait_seconds), or ask its holder.\n",
  );
  process.exitCode = 1;
}

function formatLeases(leases: readonly LeaseView[], now: number): string {
  return formatTable(
    [
      { header: "lease" },
      { header: "holder" },
      { header: "mode" },
      { header: "token", align: "right" },
      { header: "expires in", align: "right" },
      { header: "resources" },
      { header: "reason" },
    ],
    leases.map((l) => [
      l.lease_id,
      l.holder,
      l.exclusive ? "exclusive" : "shared",
      String(l.fencing_token),
      formatDuration(Date.parse(l.expires_at) - now),
      truncate(l.resources.join(", "), 50),
      truncate(l.reason ?? "", 40),
    ]),
  );
}
