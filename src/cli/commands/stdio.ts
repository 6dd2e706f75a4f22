import { Option, type Command } from "commander";
import { STAGE_NAMES } from "../../config/pipeline.js";
import type { Switchboard } from "../../service/switchboard.js";
import type { Logger } from "../../telemetry/log.js";
import { runUntilStopped, shutdownTimeoutOption, type FrontEnd } from "../lifecycle.js";
import { globalOptions, splitList, withExamples } from "../options.js";
import { openRuntime } from "../runtime.js";
import { checkNoWorkersVariable, noWorkersOption } from "./serve.js";

interface StdioOptions {
  agent: string;
  capabilities?: string[];
  workers: boolean;
  shutdownTimeoutMs: number;
}

/** `switchboard stdio`: MCP over stdin/stdout as one agent, for clients that spawn servers. */
export function registerStdio(program: Command): void {
  const command = program
    .command("stdio")
    .description("serve MCP over stdin/stdout as one agent, for clients that spawn their servers")
    .addOption(
      new Option("--agent <name>", "the agent this process acts as")
        .env("SWITCHBOARD_AGENT")
        .makeOptionMandatory(),
    )
    .addOption(
      new Option(
        "--capabilities <list>",
        "comma-separated capabilities to register (default: keep the registered ones)",
      )
        .argParser(splitList)
        .env("SWITCHBOARD_CAPABILITIES"),
    )
    .addOption(
      noWorkersOption("do not run the stages in this process (a serve or worker runs them)"),
    )
    .addOption(shutdownTimeoutOption())
    .addHelpText(
      "after",
      "\nstdout carries the protocol; logs go to stderr. With SWITCHBOARD_TOKEN set the process is\n" +
        "the agent that token belongs to; without it the name is registered and its new token is\n" +
        "printed to stderr: set it as SWITCHBOARD_TOKEN in the client's configuration to keep the\n" +
        "name. The stages run in this process too (several such processes share the work), so one\n" +
        "spawned process works alone. Stops when stdin closes, or on SIGINT or SIGTERM.",
    )
    .action(stdio);
  withExamples(command, [
    "switchboard stdio --agent reviewer --capabilities code-review,python@3.12",
    "SWITCHBOARD_TOKEN=sbt_… switchboard stdio --agent reviewer --no-workers",
  ]);
}

async function stdio(options: StdioOptions, command: Command): Promise<void> {
  checkNoWorkersVariable();
  const runtime = await openRuntime(globalOptions(command), { longRunning: true });
  await runUntilStopped(runtime, {
    stages: options.workers ? STAGE_NAMES : [],
    pipeline: runtime.pipeline,
    shutdownTimeoutMs: options.shutdownTimeoutMs,
    frontEnd: (service) => startStdio(service, options, runtime.log),
  });
}

async function startStdio(
  service: Switchboard,
  options: StdioOptions,
  log: Logger,
): Promise<FrontEnd> {
  const token = process.env.SWITCHBOARD_TOKEN?.trim();
  // Loaded here, not at start-up: `switchboard worker` never pays for the MCP SDK.
  const { serveStdioFrontEnd, stdioIdentity } = await import("../../mcp/stdio.js");
  const identity = await stdioIdentity(
    service,
    {
      agent: options.agent,
      capabilities: options.capabilities,
      token: token === "" ? undefined : token,
    },
    (newToken) =>
      process.stderr.write(
        `switchboard: registered agent '${options.agent}'; to be it again, set SWITCHBOARD_TOKEN=${newToken}\n`,
      ),
  );
  const front = serveStdioFrontEnd(service, identity, log);
  log.info("mcp stdio front end ready", { agent: options.agent });
  return { ended: front.closed.then(() => "stdin closed"), stop: () => front.close() };
}
