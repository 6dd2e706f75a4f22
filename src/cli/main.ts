import { Command } from "commander";
import { VERSION } from "../version.js";
import { registerAgents } from "./commands/agents.js";
import { registerConsole } from "./commands/console.js";
import { registerDlq } from "./commands/dlq.js";
import { registerErrors } from "./commands/errors.js";
import { registerInbox } from "./commands/inbox.js";
import { registerInstall } from "./commands/install.js";
import { registerLeases } from "./commands/leases.js";
import { registerNotes } from "./commands/notes.js";
import { registerLoops } from "./commands/loops.js";
import { registerPipeline } from "./commands/pipeline.js";
import { registerSend } from "./commands/send.js";
import { registerServe } from "./commands/serve.js";
import { registerStatus } from "./commands/status.js";
import { registerStdio } from "./commands/stdio.js";
import { registerThread } from "./commands/thread.js";
import { registerWorker } from "./commands/worker.js";
import { formatCommanderMessage, reportError } from "./errors.js";
import { addGlobalOptions, withExamples, type GlobalOptions } from "./options.js";

/** The `switchboard` program; settings given on it are inherited by every command. */
export function createProgram(): Command {
  const program = new Command("switchboard")
    .description("A message bus for teams of AI agents, on Redis Streams.")
    .version(VERSION, "-V, --version", "print the version and exit")
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(formatCommanderMessage(text)) })
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .showSuggestionAfterError(true);
  addGlobalOptions(program);
  program.addHelpText(
    "after",
    "\nEach option overrides its environment variable (shown as env:). A number over an\n" +
      "option's maximum (shown as 0-60 and the like) is refused, naming the maximum, never cut\n" +
      "down to it. Run `switchboard <command> --help` for a command's options and examples.",
  );
  withExamples(program, [
    "switchboard serve",
    "switchboard stdio --agent reviewer --capabilities code-review",
    "switchboard send --from alice --to bob --body 'hello'",
    "switchboard inbox --agent bob",
    "switchboard status",
    "switchboard leases",
    "switchboard pipeline check pipelines/default.yaml",
  ]);
  registerServe(program);
  registerStdio(program);
  registerWorker(program);
  registerSend(program);
  registerInbox(program);
  registerAgents(program);
  registerThread(program);
  registerLeases(program);
  registerNotes(program);
  registerStatus(program);
  registerPipeline(program);
  registerDlq(program);
  registerErrors(program);
  registerConsole(program);
  registerLoops(program);
  registerInstall(program);
  return program;
}

/** Runs the CLI; sets `process.exitCode` (0 ok, 1 runtime failure, 2 usage or config error). */
export async function main(argv: string[]): Promise<void> {
  process.stdout.on("error", ignoreBrokenPipe);
  const program = createProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    const level = program.opts<GlobalOptions>().logLevel ?? process.env.SWITCHBOARD_LOG_LEVEL;
    process.exitCode = reportError(error, level === "debug");
  }
}

/** `switchboard inbox | head` closes stdout early; that is not an error. */
function ignoreBrokenPipe(error: NodeJS.ErrnoException): void {
  if (error.code !== "EPIPE") throw error;
}
