import { Option, type Command } from "commander";
import { STAGE_NAMES } from "../../config/pipeline.js";
import type { Caller } from "../../mcp/identity.js";
import { SwitchboardError, toErrorInfo } from "../../protocol/errors.js";
import { claimAgent } from "../../service/claim.js";
import type { Switchboard } from "../../service/switchboard.js";
import type { Logger } from "../../telemetry/log.js";
import { describeError, EXIT_FAILURE } from "../errors.js";
import {
  checkNoWorkersVariable,
  noWorkersOption,
  runUntilStopped,
  shutdownTimeoutOption,
  type FrontEnd,
} from "../lifecycle.js";
import { globalOptions, splitList, withExamples } from "../options.js";
import { credentialsFile, openRuntime, type Runtime } from "../runtime.js";

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
      "\nstdout carries the protocol; logs go to stderr. The agent is registered as the process\n" +
        "starts, and its token kept in the data directory (credentials/, mode 0600; set\n" +
        "SWITCHBOARD_DATA_DIR to move it), so the next start is the same agent. SWITCHBOARD_TOKEN,\n" +
        "when set, wins: the process is the agent that token belongs to. A refusal (a token of\n" +
        "another agent, a name taken) is answered to every tool call, so the client shows it.\n" +
        "The stages run in this process too (several such processes share the work), so one\n" +
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
  let refused = false;
  await runUntilStopped(runtime, {
    stages: options.workers ? STAGE_NAMES : [],
    pipeline: runtime.pipeline,
    shutdownTimeoutMs: options.shutdownTimeoutMs,
    frontEnd: async (service) => {
      const claimed = await claim(service, options, runtime);
      refused = claimed instanceof SwitchboardError;
      return startStdio(service, claimed, options.agent, runtime.log);
    },
  });
  // It served its refusal to the client until the client left; the exit code says so too.
  if (refused) process.exitCode = EXIT_FAILURE;
}

/** Becomes the agent (see {@link claimAgent}), or the refusal to serve, also told on stderr. */
async function claim(
  service: Switchboard,
  options: StdioOptions,
  runtime: Runtime,
): Promise<Caller | SwitchboardError> {
  const token = process.env.SWITCHBOARD_TOKEN?.trim();
  try {
    const credentials = credentialsFile(runtime, options.agent);
    const claimed = await claimAgent(
      { service, redis: runtime.redis, keys: runtime.keys },
      {
        agent: options.agent,
        capabilities: options.capabilities,
        token: token === "" ? undefined : token,
        credentials,
      },
    );
    runtime.log.info("agent claimed", { agent: claimed.agent, how: claimed.how });
    if (claimed.unsaved !== undefined) {
      process.stderr.write(
        `switchboard: registered agent '${claimed.agent}' but ${claimed.unsaved.message}; ` +
          `to be it again, set SWITCHBOARD_TOKEN=${claimed.token}\n`,
      );
    } else if (claimed.how === "registered") {
      process.stderr.write(
        `switchboard: registered agent '${claimed.agent}'; its token is kept in ${credentials.path}, ` +
          "so the next start is this agent again\n",
      );
    }
    return { agent: claimed.agent, token: claimed.token };
  } catch (error) {
    const info = toErrorInfo(error);
    const refusal =
      error instanceof SwitchboardError ? error : new SwitchboardError(info.code, info.message);
    runtime.log.error("not starting as the agent; every tool call answers why", {
      agent: options.agent,
      code: refusal.code,
    });
    process.stderr.write(`switchboard: ${describeError(refusal)}\n`);
    return refusal;
  }
}

async function startStdio(
  service: Switchboard,
  claimed: Caller | SwitchboardError,
  agent: string,
  log: Logger,
): Promise<FrontEnd> {
  // Loaded here, not at start-up: `switchboard worker` never pays for the MCP SDK.
  const { serveStdioFrontEnd } = await import("../../mcp/stdio.js");
  const front = serveStdioFrontEnd(service, claimed, log);
  log.info("mcp stdio front end ready", { agent });
  return { ended: front.closed.then(() => "stdin closed"), stop: () => front.close() };
}
