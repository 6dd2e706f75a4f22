import { InvalidArgumentError, Option, type Command } from "commander";
import {
  DEFAULT_WINDOWS,
  readErrorReport,
  type Breakdown,
  type ErrorReport,
  type ErrorWindow,
} from "../../failures/report.js";
import { parseWindows } from "../../failures/windows.js";
import { globalOptions, positiveInteger, withExamples } from "../options.js";
import { noteUnusedPrefix } from "../presence.js";
import { withRuntime } from "../runtime.js";
import { formatDuration, formatTable } from "../table.js";
import { formatCount } from "../../protocol/words.js";

interface ErrorsOptions {
  window: ErrorWindow[];
  top: number;
  json?: boolean;
}

/** `switchboard errors`: what failed lately, where, and what to do about it. */
export function registerErrors(program: Command): void {
  const command = program
    .command("errors")
    .description(
      "report recent errors: counts by category, code and stage over sliding windows, the agents and webhook endpoints failing most, and what to do about each code",
    )
    .addOption(
      new Option("--window <list>", "the windows, comma-separated durations")
        .argParser(windows)
        .default(DEFAULT_WINDOWS, DEFAULT_WINDOWS.map((w) => w.label).join(",")),
    )
    .addOption(
      new Option("--top <n>", "rows of the agent and endpoint tables")
        .argParser(positiveInteger)
        .default(10),
    )
    .option("--json", "print one JSON object")
    .action(reportErrors);
  withExamples(command, [
    "switchboard errors",
    "switchboard errors --window 15m,6h --top 5",
    "switchboard errors --json",
  ]);
}

/** `5m,1h,24h` as windows, for commander. */
function windows(value: string): ErrorWindow[] {
  try {
    return parseWindows(value, "--window");
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

async function reportErrors(options: ErrorsOptions, command: Command): Promise<void> {
  const report = await withRuntime(globalOptions(command), async (runtime) => {
    await noteUnusedPrefix(runtime);
    return readErrorReport(runtime.redis, runtime.keys, runtime.pipeline, {
      windows: options.window,
      top: options.top,
    });
  });
  process.stdout.write(
    options.json === true ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`,
  );
}

function breakdown(title: string, rows: readonly Breakdown[], labels: readonly string[]): string {
  return formatTable(
    [{ header: title }, ...labels.map((label) => ({ header: label, align: "right" as const }))],
    rows.map((row) => [row.name, ...labels.map((label) => formatCount(row.counts[label] ?? 0))]),
  );
}

export function formatReport(r: ErrorReport): string {
  const labels = r.windows.map((w) => w.label);
  const longest = r.windows.at(-1);
  const deadLetters = `dead letters: ${formatCount(r.dead_letters)}${r.dead_letters > 0 ? " (switchboard dlq list)" : ""}`;
  if (longest === undefined || longest.total === 0) {
    return `no errors in the last ${longest?.label ?? "while"}\n${deadLetters}`;
  }
  const sections = [
    breakdown(
      "errors",
      [{ name: "total", counts: Object.fromEntries(r.windows.map((w) => [w.label, w.total])) }],
      labels,
    ),
    breakdown("category", r.by_category, labels),
    breakdown("code", r.by_code, labels),
    breakdown("stage", r.by_stage, labels),
  ];
  if (r.top_agents.length > 0) sections.push(breakdown("agent", r.top_agents, labels));
  if (r.top_endpoints.length > 0) sections.push(breakdown("endpoint", r.top_endpoints, labels));
  sections.push(deadLetters);
  sections.push(
    [
      "what to do:",
      ...r.advice.map(
        (a) =>
          `  ${a.code} (${a.category}, ${a.severity}; ${formatCount(a.count)} in ${longest.label}): ${a.advice}`,
      ),
    ].join("\n"),
  );
  const note = truncationNote(r, longest);
  if (note !== undefined) sections.push(note);
  return sections.join("\n\n");
}

/** When the capped history (of some partition) no longer reaches back over the longest window, says so. */
function truncationNote(r: ErrorReport, longest: ErrorWindow): string | undefined {
  const { max_length, partitions, complete_since } = r.history;
  if (complete_since === null) return undefined;
  const reach = Date.parse(r.at) - Date.parse(complete_since);
  if (reach >= longest.ms) return undefined;
  const each = partitions === 1 ? "" : " of each partition";
  return `note: the history${each} keeps the latest ${formatCount(max_length)} errors (errors.history.maxLen), the oldest from ${formatDuration(reach)} ago: counts over ${longest.label} are a floor`;
}
