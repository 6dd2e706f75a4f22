/**
 * `npm run bench -- --tracing`: the saturated pipeline run of bench/pipeline.ts with the
 * workers' tracing off, sampled at 1% and at 100% (`parentbased_traceidratio`: validate
 * starts each message's trace, as the producer here is untraced), exporting OTLP/HTTP to
 * a sink in this process. The three modes are interleaved within each run, in a rotating
 * order; the figures are medians over runs.
 */
import { join } from "node:path";
import type { BenchOptions } from "./args.js";
import { composeMessages } from "./load.js";
import type { Result, Scenario } from "./measure.js";
import type { Setup } from "./run.js";
import { OtlpSink } from "./otlp-sink.js";
import { progress, ROOT } from "./procs.js";
import { median } from "./redis-tools.js";
import { combine, machineDetails } from "./report.js";
import * as report from "./tracing-report.js";

export interface TracingMode {
  name: string;
  /** The sampling ratio; undefined: tracing off (no `OTEL_*` variables). */
  ratio: number | undefined;
}

export const MODES: readonly TracingMode[] = [
  { name: "off", ratio: undefined },
  { name: "1%", ratio: 0.01 },
  { name: "100%", ratio: 1 },
];

/** One measured run of a mode, and what the sink received during it (warm-up included). */
export interface TracingRun {
  result: Result;
  spans: number;
  bytes: number;
}

function envOf(mode: TracingMode, sink: OtlpSink): NodeJS.ProcessEnv | undefined {
  if (mode.ratio === undefined) return undefined;
  return {
    OTEL_TRACES_EXPORTER: "otlp",
    OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
    OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
    OTEL_TRACES_SAMPLER_ARG: String(mode.ratio),
  };
}

export interface TracingBenchInput {
  options: BenchOptions;
  argv: readonly string[];
  setup: Setup;
  /** Runs a scenario once the machine is quiet (bench/pipeline.ts). */
  measure: (scenario: Scenario) => Promise<Result>;
}

/** Runs the benchmark; returns the exit code. */
export async function runTracingBench(input: TracingBenchInput): Promise<number> {
  const { options, argv, setup, measure } = input;
  const sink = await OtlpSink.start();
  try {
    const machine = await machineDetails(setup.admin);
    const workers = options.workers[0] ?? 1;
    progress(`composing ${options.messages} + ${options.warmup} messages`);
    const messages = composeMessages(options.messages, setup.agents, options.bodyBytes, "m");
    const warmup = composeMessages(options.warmup, setup.agents, options.bodyBytes, "w");
    const runs = new Map<string, TracingRun[]>(MODES.map((mode) => [mode.name, []]));
    for (let run = 1; run <= options.runs; run += 1) {
      for (let i = 0; i < MODES.length; i += 1) {
        const mode = MODES[(i + run - 1) % MODES.length]!;
        const before = { spans: sink.spans, bytes: sink.bytes };
        const result = await measure({
          kind: "ours",
          workers,
          messages,
          warmup,
          label: `tracing ${mode.name} ×${workers}, run ${run}/${options.runs}`,
          env: envOf(mode, sink),
        });
        const spans = sink.spans - before.spans;
        runs.get(mode.name)!.push({ result, spans, bytes: sink.bytes - before.bytes });
        if (mode.ratio !== undefined) progress(`  ${spans} spans exported`);
      }
    }
    const exported = options.messages + options.warmup;
    const result: report.TracingReport = {
      date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
      command: `npm run bench -- ${argv.join(" ")}`,
      machine,
      messages: options.messages,
      runs: options.runs,
      workers,
      bodyBytes: options.bodyBytes,
      agents: setup.agents,
      batchSize: setup.pipeline.stages.validate.batchSize,
      rows: MODES.map((mode) => {
        const list = runs.get(mode.name)!;
        return {
          mode: mode.name,
          result: combine(list.map((r) => r.result)),
          spansPerMsg: median(list.map((r) => r.spans / exported)),
          bytesPerMsg: median(list.map((r) => r.bytes / exported)),
        };
      }),
    };
    if (options.json) {
      process.stdout.write(`${report.tracingJsonLine(result)}\n`);
    } else {
      const verdicts = report.tracingVerdicts(result).join("\n");
      process.stdout.write(`\n${report.tracingTable(result)}\n\n${verdicts}\n`);
    }
    if (options.write) {
      const file = join(ROOT, "docs/benchmarks.md");
      report.writeTracingSection(file, result);
      progress(`wrote ${file}`);
    }
    return 0;
  } catch (error) {
    progress(`failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    await sink.close();
  }
}
