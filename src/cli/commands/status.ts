import type { Command } from "commander";
import { STAGE_NAMES } from "../../config/pipeline.js";
import { JOB_STATES, type FailureStatus } from "../../health/failures.js";
import type { NodeStatus } from "../../health/nodes.js";
import { readPipelineStatus, type PipelineStatus } from "../../health/report.js";
import type { PartitionStatus } from "../../health/status.js";
import { globalOptions, withExamples } from "../options.js";
import { requirePrefixInUse } from "../presence.js";
import { withRuntime } from "../runtime.js";
import { formatBytes, formatDuration, formatTable } from "../table.js";
import { formatCount } from "../../protocol/words.js";

/** `switchboard status`: how far behind each stage is. */
export function registerStatus(program: Command): void {
  const command = program
    .command("status")
    .description(
      "show each stage's backlog, lag, pending entries and live workers, dead letters, retry queues and webhook breakers",
    )
    .option("--json", "print one JSON object")
    .action(showStatus);
  command.addHelpText(
    "after",
    "\nworkers: the worker processes (serve, worker, stdio) running each stage, heard from in\n" +
      "the last 15 s. On a Redis Cluster, a row per master too: its slots, the partitions whose\n" +
      "hash tag ({p0}…) they hold, its used memory and connected replicas. Reads only; exits 1 when no Switchboard has run under the prefix (a\n" +
      "mistyped --prefix or REDIS_URL would otherwise show an empty system).",
  );
  withExamples(command, ["switchboard status", "switchboard status --prefix team1 --json"]);
}

async function showStatus(options: { json?: boolean }, command: Command): Promise<void> {
  const report = await withRuntime(globalOptions(command), async (runtime) => {
    await requirePrefixInUse(runtime);
    return readPipelineStatus(runtime);
  });
  process.stdout.write(
    options.json === true ? `${JSON.stringify(report, null, 2)}\n` : `${formatStatus(report)}\n`,
  );
}

export function formatStatus(report: PipelineStatus): string {
  const split = report.partitions.length > 1;
  const parts: Omit<PartitionStatus, "partition">[] = split ? report.partitions : [report];
  const rows = parts.flatMap((part, p) => {
    const at = split ? [String(p)] : [];
    const stages = STAGE_NAMES.map((name) => {
      const s = part.stages[name];
      return [
        ...at,
        name,
        s.stream,
        s.group_exists ? s.group : `${s.group} (no group)`,
        formatCount(s.length),
        s.lag === null ? "?" : formatCount(s.lag),
        formatCount(s.pending),
        String(s.workers),
        s.oldest_pending_ms === null ? "-" : formatDuration(s.oldest_pending_ms),
      ];
    });
    const dead = part.dead_letters;
    stages.push([
      ...at,
      "dead letters",
      dead.stream,
      "-",
      formatCount(dead.length),
      "",
      "",
      "",
      "",
    ]);
    return stages;
  });
  const table = formatTable(
    [
      ...(split ? [{ header: "partition", align: "right" as const }] : []),
      { header: "stage" },
      { header: "stream" },
      { header: "group" },
      { header: "length", align: "right" },
      { header: "lag", align: "right" },
      { header: "pending", align: "right" },
      { header: "workers", align: "right" },
      { header: "oldest pending", align: "right" },
    ],
    rows,
  );
  const partitions = split ? `, ${report.partitions.length} partitions` : "";
  return [
    `prefix ${report.prefix}, pipeline ${report.pipeline}${partitions}`,
    table,
    ...(report.nodes === undefined ? [] : ["", formatNodes(report.nodes)]),
    "",
    formatQueues(report),
    "",
    formatBreakers(report),
  ].join("\n");
}

function formatNodes(nodes: readonly NodeStatus[]): string {
  const rows = nodes.map((node) => [
    node.address,
    node.slots.join(",") || "none",
    node.partitions.join(",") || "none",
    formatBytes(node.used_memory_bytes),
    String(node.replicas),
  ]);
  return formatTable(
    [
      { header: "master" },
      { header: "slots" },
      { header: "partitions" },
      { header: "memory", align: "right" },
      { header: "replicas", align: "right" },
    ],
    rows,
  );
}

function formatQueues(report: FailureStatus): string {
  const rows = Object.entries(report.retry_queues).map(([queue, counts]) => [
    queue,
    ...JOB_STATES.map((state) => formatCount(counts[state])),
  ]);
  return formatTable(
    [
      { header: "queue" },
      ...JOB_STATES.map((state) => ({ header: state, align: "right" as const })),
    ],
    rows,
  );
}

function formatBreakers(report: FailureStatus): string {
  if (report.breakers.length === 0) return "webhook breakers: none (no endpoint has failed lately)";
  const now = Date.now();
  const rows = report.breakers.map((b) => [
    b.endpoint,
    b.state.replace("_", "-"),
    String(b.failures),
    b.until === null ? "-" : b.until > now ? `in ${formatDuration(b.until - now)}` : "now",
  ]);
  return formatTable(
    [
      { header: "webhook endpoint" },
      { header: "breaker" },
      { header: "failures", align: "right" },
      { header: "next try", align: "right" },
    ],
    rows,
  );
}
