import type { Command } from "commander";
import { STAGE_NAMES } from "../../config/pipeline.js";
import { runStagesUntilSignal, shutdownTimeoutOption } from "../lifecycle.js";
import { globalOptions, withExamples } from "../options.js";
import { openRuntime } from "../runtime.js";

interface ServeOptions {
  shutdownTimeoutMs: number;
}

/** `switchboard serve`: every stage in one process. */
export function registerServe(program: Command): void {
  const command = program
    .command("serve")
    .description("run all four stages (validate, route, deliver, persist) in this process")
    .addOption(shutdownTimeoutOption())
    .addHelpText(
      "after",
      "\nFinds or starts Redis (REDIS_URL, then 127.0.0.1:6379, then a spawned redis-server)\n" +
        "and logs where it is. SIGINT or SIGTERM stops gracefully (exit 0, or 1 when the\n" +
        "shutdown timeout runs out); a second signal exits at once. The MCP front end will\n" +
        "join `serve` later; for now it runs the pipeline only.",
    )
    .action(serve);
  withExamples(command, [
    "switchboard serve",
    "REDIS_URL=redis://127.0.0.1:6379 switchboard serve --prefix team1",
    "switchboard serve --pipeline pipelines/default.yaml --shutdown-timeout-ms 5000",
  ]);
}

async function serve(options: ServeOptions, command: Command): Promise<void> {
  const runtime = await openRuntime(globalOptions(command), { longRunning: true });
  await runStagesUntilSignal(runtime, {
    stages: STAGE_NAMES,
    pipeline: runtime.pipeline,
    shutdownTimeoutMs: options.shutdownTimeoutMs,
  });
}
