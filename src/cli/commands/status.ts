import type { Command } from "commander";
import { STAGE_NAMES } from "../../config/pipeline.js";
import { readStatus, type StatusReport } from "../../health/status.js";
import { globalOptions, withExamples } from "../options.js";
import { withRuntime } from "../runtime.js";
import { formatCount, formatDuration, formatTable } from "../table.js";

/** `switchboard status`: how far behind each stage is. */
export function registerStatus(program: Command): void {
  const command = program
    .command("status")
    .description("show each stage's backlog, lag, pending entries and consumers, and dead letters")
    .option("--json", "print one JSON object")
    .action(showStatus);
  withExamples(command, ["switchboard status", "switchboard status --prefix team1 --json"]);
}

async function showStatus(options: { json?: boolean }, command: Command): Promise<void> {
  const report = await withRuntime(globalOptions(command), (runtime) => readStatus(runtime));
  process.stdout.write(
    options.json === true ? `${JSON.stringify(report, null, 2)}\n` : `${formatStatus(report)}\n`,
  );
}

export function formatStatus(report: StatusReport): string {
  const rows = STAGE_NAMES.map((name) => {
    const s = report.stages[name];
    return [
      name,
      s.stream,
      s.group_exists ? s.group : `${s.group} (no group)`,
      formatCount(s.length),
      s.lag === null ? "?" : formatCount(s.lag),
      formatCount(s.pending),
      String(s.consumers),
      s.oldest_pending_ms === null ? "-" : formatDuration(s.oldest_pending_ms),
    ];
  });
  const dead = report.dead_letters;
  rows.push(["dead letters", dead.stream, "-", formatCount(dead.length), "", "", "", ""]);
  const table = formatTable(
    [
      { header: "stage" },
      { header: "stream" },
      { header: "group" },
      { header: "length", align: "right" },
      { header: "lag", align: "right" },
      { header: "pending", align: "right" },
      { header: "consumers", align: "right" },
      { header: "oldest pending", align: "right" },
    ],
    rows,
  );
  return `prefix ${report.prefix}, pipeline ${report.pipeline}\n${table}`;
}
