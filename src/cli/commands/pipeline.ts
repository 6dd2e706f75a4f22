import type { Command } from "commander";
import { loadPipeline, STAGE_NAMES, type Pipeline } from "../../config/pipeline.js";
import { globalOptions, withExamples } from "../options.js";
import { resolveSettings } from "../runtime.js";
import { formatTable, type Column } from "../table.js";

const COLUMNS: readonly Column[] = [
  { header: "stage" },
  { header: "stream" },
  { header: "group" },
  { header: "batch", align: "right" },
  { header: "block ms", align: "right" },
  { header: "concurrency", align: "right" },
  { header: "claim idle ms", align: "right" },
  { header: "max deliveries", align: "right" },
];

/** `switchboard pipeline check [FILE]`: validates a pipeline file; needs no Redis. */
export function registerPipeline(program: Command): void {
  const pipeline = program
    .command("pipeline")
    .description("work with pipeline files (the stages and their tuning)");
  withExamples(pipeline, ["switchboard pipeline check my-pipeline.yaml"]);
  withExamples(
    pipeline
      .command("check")
      .argument("[file]", "the pipeline file; default: the configured one")
      .description("validate a pipeline file and show its stages; needs no Redis")
      .option("--json", "print {ok, file, stages} as JSON")
      .action(checkPipeline),
    [
      "switchboard pipeline check",
      "switchboard pipeline check pipelines/default.yaml",
      "SWITCHBOARD_PIPELINE=my.yaml switchboard pipeline check",
    ],
  );
}

function checkPipeline(
  file: string | undefined,
  options: { json?: boolean },
  command: Command,
): void {
  const path = file ?? resolveSettings(globalOptions(command)).SWITCHBOARD_PIPELINE;
  const pipeline = loadPipeline(path);
  if (options.json === true) {
    process.stdout.write(
      `${JSON.stringify({ ok: true, file: path, stages: pipeline.stages }, null, 2)}\n`,
    );
  } else {
    process.stdout.write(`ok: ${path}\n${describeStages(pipeline)}\n`);
  }
}

/** The stages of a pipeline as a compact table. */
export function describeStages(pipeline: Pipeline): string {
  const rows = STAGE_NAMES.map((name) => {
    const s = pipeline.stages[name];
    return [
      s.name,
      s.stream,
      s.group,
      String(s.batchSize),
      String(s.blockMs),
      String(s.concurrency),
      String(s.claimIdleMs),
      String(s.maxDeliveries),
    ];
  });
  return formatTable(COLUMNS, rows);
}
