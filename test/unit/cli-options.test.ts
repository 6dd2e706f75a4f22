import type { Command, Option } from "commander";
import { describe, expect, it } from "vitest";
import { createProgram } from "../../src/cli/main.js";

/**
 * Every option can be set by an environment variable (shown in --help), except those
 * that belong to one invocation: setting them in the environment would make every later
 * command do the same one-off thing, or defeat a safeguard.
 */
const PER_INVOCATION: ReadonlyMap<string, string> = new Map<string, string>([
  // One message: what it says and whom it is for.
  ["send --to", "a recipient of one message"],
  ["send --capability", "a target of one message"],
  ["send --mode", "a target of one message"],
  ["send --broadcast", "a target of one message"],
  ["send --topic", "a target of one message"],
  ["send --await-reply", "a wait for the reply to one message"],
  ["send --body", "the body of one message"],
  ["send --text", "how to read one --body"],
  ["send --subject", "the subject of one message"],
  ["send --type", "the type of one message"],
  ["send --thread", "the thread of one message"],
  ["send --reply-to", "the message one message answers"],
  ["send --ttl", "the lifetime of one message"],
  ["send --idempotency-key", "a key unique to one message"],
  ["send --file", "one file to send"],
  // One look at, or one action on, an inbox.
  ["inbox --limit", "the size of one listing"],
  ["inbox --fetch", "taking messages is a deliberate act, never a default"],
  ["inbox --ack", "acknowledging is a deliberate act, never a default"],
  ["inbox --wait", "a wait of one fetch"],
  ["inbox --peek", "one kind of listing"],
  // One agent.
  ["agents list --capability", "a filter of one listing"],
  ["agents list --status", "a filter of one listing"],
  ["agents register --capabilities", "what one agent can do"],
  ["agents register --description", "who one agent is"],
  ["agents register --webhook-url", "where one agent's mail goes"],
  ["agents register --token", "one agent's secret"],
  ["agents admin --revoke", "one change of one agent's role"],
  ["agents token --rotate", "one change of one agent's token"],
  ["agents token --save", "where one new token is kept"],
  // One client's configuration, written once.
  ...[
    "--agent",
    "--capabilities",
    "--http",
    "--url",
    "--token",
    "--file",
    "--command",
    "--print",
  ].map((flag) => [`install ${flag}`, "what one client's configuration says"] as const),
  // Dead letters chosen for one action.
  ...["list", "replay", "purge"].flatMap((sub) =>
    ["--agent", "--stage", "--code", "--category", "--older-than", "--newer-than"].map(
      (flag) => [`dlq ${sub} ${flag}`, "selects dead letters for one action"] as const,
    ),
  ),
  ["dlq list --limit", "the size of one page"],
  ["dlq list --after", "one page's cursor"],
  ["dlq replay --all", "widens one action to every match"],
  ["dlq purge --all", "widens one action to every match"],
  ["dlq purge --yes", "a confirmation: an environment variable would defeat it"],
  // Leases: a filter of one listing, one break, one repository checked.
  ["leases list --resource", "a filter of one listing"],
  ["leases list --holder", "a filter of one listing"],
  ["leases break --reason", "why one lease was broken"],
  ["leases guard --repo", "the repository of one commit"],
  // One version of one note.
  ["notes put --file", "the content of one version"],
  ["notes put --expected-version", "the version one write expects"],
  ["notes put --ttl", "the lifetime one write sets"],
  // One breaker lifted.
  ["loops clear --pair", "the pair of one clear"],
  // One report.
  ["errors --window", "the windows of one report"],
  ["errors --top", "the length of one report"],
]);

/** Commands that print no data (they serve); every other leaf command has --json. */
const SERVING_COMMANDS = new Set(["serve", "worker", "stdio"]);

/** Options that are exempt everywhere: help, and --json (commander treats any value of a boolean variable as true). */
const EVERYWHERE = new Set(["--help", "--version", "--json"]);

interface Leaf {
  path: string;
  command: Command;
}

function leaves(command: Command, prefix = ""): Leaf[] {
  return command.commands.flatMap((sub) => {
    const path = `${prefix}${sub.name()}`;
    return sub.commands.length === 0 ? [{ path, command: sub }] : leaves(sub, `${path} `);
  });
}

const flagOf = (option: Option): string => option.long ?? option.short ?? option.flags;

describe("switchboard options", () => {
  const program = createProgram();

  it("gives every option an environment variable, but those of one invocation", () => {
    const missing = [
      ...program.options.map((option) => ({ path: "", option })),
      ...leaves(program).flatMap(({ path, command }) =>
        command.options.map((option) => ({ path: `${path} `, option })),
      ),
    ]
      .filter(({ option }) => !EVERYWHERE.has(flagOf(option)) && option.envVar === undefined)
      .map(({ path, option }) => `${path}${flagOf(option)}`)
      .filter((name) => !PER_INVOCATION.has(name));
    expect(missing).toEqual([]);
  });

  it("lists no exemption that does not exist or has a variable after all", () => {
    const options = new Map<string, Option>(
      leaves(program).flatMap(({ path, command }) =>
        command.options.map((option) => [`${path} ${flagOf(option)}`, option] as const),
      ),
    );
    const stale = [...PER_INVOCATION.keys()].filter(
      (name) => options.get(name) === undefined || options.get(name)?.envVar !== undefined,
    );
    expect(stale).toEqual([]);
  });

  it("shows each variable in --help", () => {
    // Commander wraps help to the terminal's width, so a line break may fall anywhere.
    const unwrapped = (command: Command) => command.helpInformation().replace(/\s+/g, " ");
    const help = unwrapped(program.commands.find((c) => c.name() === "serve")!);
    expect(help).toContain("env: SWITCHBOARD_PORT");
    expect(help).toContain("env: SWITCHBOARD_HOST");
    expect(unwrapped(program)).toContain("env: SWITCHBOARD_PREFIX");
  });

  it("has --json on every command that prints data", () => {
    const without = leaves(program)
      .filter(({ path }) => !SERVING_COMMANDS.has(path))
      .filter(({ command }) => !command.options.some((option) => option.long === "--json"))
      .map(({ path }) => path);
    expect(without).toEqual([]);
  });
});
