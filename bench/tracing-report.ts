import type { Result } from "./measure.js";
import { markers, noiseVerdict, writeSection, type Machine } from "./report.js";

/** The spans one message makes in the pipeline: a process span in each of validate, route and deliver, `send inbox`, and persist's two (routed, delivered). */
export const SPANS_PER_MESSAGE = 6;

/** The aim of the issue: tracing at 1% costs under 10% of the throughput. */
const AIM_COST = 0.1;

export interface TracingRow {
  mode: string;
  /** Medians over runs (RSS: the largest). */
  result: Result;
  /** Spans the sink received per message sent (warm-up included). */
  spansPerMsg: number;
  bytesPerMsg: number;
}

export interface TracingReport {
  date: string;
  command: string;
  machine: Machine;
  messages: number;
  runs: number;
  workers: number;
  bodyBytes: number;
  agents: number;
  batchSize: number;
  rows: TracingRow[];
}

const off = (report: TracingReport) => report.rows.find((r) => r.mode === "off")!.result;
const ratioOf = (report: TracingReport, row: TracingRow) =>
  row.result.msgsPerS / off(report).msgsPerS;
const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;

export function tracingTable(report: TracingReport): string {
  const lines = [
    "| Tracing | msgs/s | ÷ off | p50 ms | p99 ms | worker CPU µs/msg | ÷ off | worker RSS MiB | spans exported/msg | OTLP bytes/msg |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  const base = off(report);
  for (const row of report.rows) {
    const r = row.result;
    const cells = [
      row.mode === "off" ? "off" : `on, ${row.mode} sampled`,
      Math.round(r.msgsPerS).toLocaleString("en-US"),
      ratioOf(report, row).toFixed(3),
      String(r.p50Ms),
      String(r.p99Ms),
      Math.round(r.workerCpuUsPerMsg).toString(),
      (r.workerCpuUsPerMsg / base.workerCpuUsPerMsg).toFixed(2),
      Math.round(r.maxRssMiB).toString(),
      row.spansPerMsg.toFixed(2),
      Math.round(row.bytesPerMsg).toLocaleString("en-US"),
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

export function tracingVerdicts(report: TracingReport): string[] {
  const lines: string[] = [];
  for (const row of report.rows) {
    if (row.mode === "off") continue;
    const cost = 1 - ratioOf(report, row);
    const aim =
      row.mode === "1%" ? ` — aim < ${pct(AIM_COST)} ${cost < AIM_COST ? "met" : "NOT met"}` : "";
    lines.push(
      `- ${row.mode} sampled: ${pct(ratioOf(report, row))} of the throughput with tracing off (cost ${pct(cost)})${aim}`,
    );
  }
  const full = report.rows.find((r) => r.mode === "100%");
  if (full !== undefined && full.spansPerMsg < SPANS_PER_MESSAGE * 0.99) {
    lines.push(
      `- 100% sampled: ${full.spansPerMsg.toFixed(2)} of ${SPANS_PER_MESSAGE} spans per message reached the sink: the batch span processor dropped the rest (its queue, \`OTEL_BSP_MAX_QUEUE_SIZE\`, 2048 by default, was full)`,
    );
  }
  lines.push(noiseVerdict(report.rows.map((r) => r.result.otherCpuPct)));
  return lines;
}

export function tracingJsonLine(report: TracingReport): string {
  return JSON.stringify({
    modes: Object.fromEntries(
      report.rows.map((row) => [
        row.mode,
        {
          msgs_per_s: Math.round(row.result.msgsPerS),
          ratio_to_off: Math.round(ratioOf(report, row) * 1000) / 1000,
          p50_ms: row.result.p50Ms,
          p99_ms: row.result.p99Ms,
          worker_cpu_us_per_msg: Math.round(row.result.workerCpuUsPerMsg),
          worker_rss_mb: Math.round(row.result.maxRssMiB),
          spans_per_msg: Math.round(row.spansPerMsg * 100) / 100,
          otlp_bytes_per_msg: Math.round(row.bytesPerMsg),
        },
      ]),
    ),
    messages: report.messages,
    runs: report.runs,
    workers: report.workers,
    body_bytes: report.bodyBytes,
    machine: report.machine,
    date: report.date,
  });
}

function section(report: TracingReport): string {
  const m = report.machine;
  const { start, end } = markers("tracing");
  return `${start}
## Cost of tracing

Measured ${report.date} with \`${report.command}\`.

- Machine: ${m.cpu}, ${m.cores} cores (shared by Redis, the worker${report.workers === 1 ? "" : "s"}, the producer and the OTLP sink), ${m.ramGiB} GiB RAM, ${m.os}
- Node ${m.node}, Redis ${m.redis} (same host, loopback)
- ${report.messages.toLocaleString("en-US")} messages per run, ${report.bodyBytes}-byte bodies, one recipient each over ${report.agents} agents, batch size ${report.batchSize}, ${report.workers} worker process${report.workers === 1 ? "" : "es"} running all four stages; medians of ${report.runs} run(s), the three modes interleaved in each run

${tracingTable(report)}

${tracingVerdicts(report).join("\n")}

How to read it:

- The saturated run of the pipeline section above (same producer, same measurement of
  msgs/s, latency and CPU), with the workers' environment the only difference: **off** has
  no \`OTEL_*\` variables (the SDK is not loaded); **on** sets \`OTEL_TRACES_EXPORTER=otlp\`,
  \`OTEL_TRACES_SAMPLER=parentbased_traceidratio\` and \`OTEL_TRACES_SAMPLER_ARG\` (0.01, 1),
  with the batch span processor's defaults.
- The producer writes to Redis directly, untraced, so validate starts each message's
  trace and takes the sampling decision (an unsampled span: two random ids and the
  sampler); later stages follow it. An unsampled message carries no \`tp\` past validate
  and costs the later stages nothing; a sampled one makes its spans everywhere. Through
  the front end, the tool call takes the decision and validate only follows it.
- **spans exported/msg**: what the sink received, per message sent (warm-up included); a
  fully sampled message makes ${SPANS_PER_MESSAGE} spans here (no front end, nobody fetches). The
  sink is an HTTP server in the benchmark process that counts and discards, sharing the
  machine's two cores with Redis and the worker.
- \`npm run -s bench -- --tracing --json\` prints one JSON line.
${end}`;
}

/** Rewrites the tracing section of the benchmarks document. */
export function writeTracingSection(file: string, report: TracingReport): void {
  writeSection(file, "tracing", section(report));
}
