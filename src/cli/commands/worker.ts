import { Option, type Command } from "commander";
import { STAGE_NAMES, type Pipeline, type StageName } from "../../config/pipeline.js";
import { usageError } from "../errors.js";
import { runStagesUntilSignal, shutdownTimeoutOption } from "../lifecycle.js";
import { globalOptions, positiveInteger, splitList, withExamples } from "../options.js";
import { openRuntime } from "../runtime.js";

interface WorkerCommandOptions {
  stages: string;
  concurrency?: number;
  shutdownTimeoutMs: number;
}

/** `switchboard worker`: any subset of the stages, for scaling stages apart. */
export function registerWorker(program: Command): void {
  const command = program
    .command("worker")
    .description("run some of the stages in this process (default: all of them)")
    .addOption(
      new Option(
        "--stages <list>",
        `comma-separated stages to run, of ${STAGE_NAMES.join(", ")}`,
      ).default(STAGE_NAMES.join(",")),
    )
    .addOption(
      new Option(
        "--concurrency <n>",
        "consumer loops per chosen stage, overriding the pipeline file",
      ).argParser(positiveInteger),
    )
    .addOption(shutdownTimeoutOption())
    .addHelpText(
      "after",
      "\nSIGINT or SIGTERM stops gracefully (exit 0, or 1 when the shutdown timeout runs out);\n" +
        "a second signal exits at once. Any number of workers may run the same stages.",
    )
    .action(runWorker);
  withExamples(command, [
    "switchboard worker --stages validate,route",
    "switchboard worker --stages deliver --concurrency 4",
  ]);
}

/** The pipeline file's own ceiling for `concurrency`. */
const MAX_CONCURRENCY = 64;

async function runWorker(options: WorkerCommandOptions, command: Command): Promise<void> {
  const stages = parseStages(options.stages);
  if (options.concurrency !== undefined && options.concurrency > MAX_CONCURRENCY) {
    throw usageError(`--concurrency is at most ${MAX_CONCURRENCY}`, "--concurrency");
  }
  const runtime = await openRuntime(globalOptions(command), { longRunning: true });
  await runStagesUntilSignal(runtime, {
    stages,
    pipeline: withConcurrency(runtime.pipeline, stages, options.concurrency),
    shutdownTimeoutMs: options.shutdownTimeoutMs,
  });
}

/** `validate,route` → the stages, in pipeline order; an unknown name lists the valid ones. */
export function parseStages(list: string): StageName[] {
  const names = splitList(list);
  const unknown = names.filter((name) => !(STAGE_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw usageError(
      `unknown stage ${unknown.map((n) => `'${n}'`).join(", ")} in --stages; the stages are ${STAGE_NAMES.join(", ")}`,
      "--stages",
    );
  }
  if (names.length === 0) {
    throw usageError(
      `--stages names no stage; the stages are ${STAGE_NAMES.join(", ")}`,
      "--stages",
    );
  }
  return STAGE_NAMES.filter((name) => names.includes(name));
}

/** A copy of the pipeline with the chosen stages' concurrency replaced (the original is frozen). */
export function withConcurrency(
  pipeline: Pipeline,
  stages: readonly StageName[],
  concurrency: number | undefined,
): Pipeline {
  if (concurrency === undefined) return pipeline;
  const adjusted = { ...pipeline.stages };
  for (const name of stages) adjusted[name] = { ...adjusted[name], concurrency };
  return Object.freeze({ ...pipeline, stages: Object.freeze(adjusted) });
}
