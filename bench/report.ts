import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, release, totalmem, type } from "node:os";
import { dirname, join } from "node:path";
import type { RedisClient } from "../src/redis/client.js";
import type { Result } from "./measure.js";
import { combineCosts } from "./meter.js";
import { progress, ROOT } from "./procs.js";
import { mediansOf } from "./redis-tools.js";

export interface Machine {
  cpu: string;
  cores: number;
  ramGiB: number;
  os: string;
  node: string;
  redis: string;
}

export async function machineDetails(admin: RedisClient): Promise<Machine> {
  const cpuinfo = existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : "";
  const server = await admin.info("server");
  return {
    cpu: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    cores: availableParallelism(),
    ramGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${type()} ${release()}`,
    node: process.version,
    redis: /^redis_version:(.+)$/m.exec(server)?.[1]?.trim() ?? "unknown",
  };
}

/** Medians of every figure across runs, except RSS and other load: the largest seen. */
export function combine(runs: readonly Result[]): Result {
  const figures = ["elapsedMs", "msgsPerS", "acceptedPerS", "p50Ms", "p99Ms", "maxMs"] as const;
  return { ...mediansOf(runs, figures), ...combineCosts(runs) };
}

export interface Saturated {
  workers: number;
  ours: Result;
  bare: Result;
}

export interface Report {
  date: string;
  command: string;
  machine: Machine;
  messages: number;
  runs: number;
  bodyBytes: number;
  agents: number;
  batchSize: number;
  saturated: Saturated[];
  moderate: Result | undefined;
}

const r1 = (x: number) => Math.round(x * 10) / 10;
const ratioOf = (s: Saturated) => Math.round((s.ours.msgsPerS / s.bare.msgsPerS) * 1000) / 1000;

function row(name: string, r: Result, ratio: string): string {
  const cells = [
    name,
    Math.round(r.msgsPerS).toLocaleString("en-US"),
    ratio,
    String(r.p50Ms),
    String(r.p99Ms),
    r1(r.commandsPerMsg).toFixed(1),
    Math.round(r.redisCpuUsPerMsg).toString(),
    Math.round(r.workerCpuUsPerMsg).toString(),
    Math.round(r.maxRssMiB).toString(),
  ];
  return `| ${cells.join(" | ")} |`;
}

/** The table of medians, as Markdown (it reads well in a terminal too). */
export function table(report: Report): string {
  const lines = [
    "| Scenario | msgs/s | ÷ bare | p50 ms | p99 ms | Redis cmds/msg | Redis CPU µs/msg | worker CPU µs/msg | worker RSS MiB |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const s of report.saturated) {
    const plural = s.workers === 1 ? "" : "es";
    lines.push(
      row(
        `Switchboard, ${s.workers} worker${s.workers === 1 ? "" : "s"}, saturated`,
        s.ours,
        ratioOf(s).toFixed(2),
      ),
    );
    lines.push(row(`bare ceiling, ${s.workers} process${plural}`, s.bare, "1.00"));
  }
  if (report.moderate) {
    lines.push(row(`Switchboard, 1 worker, ${report.moderate.rate} msgs/s`, report.moderate, "–"));
  }
  return lines.join("\n");
}

/** Whether the aims were met, one line each. */
export function verdicts(report: Report): string[] {
  const mark = (ok: boolean) => (ok ? "met" : "NOT met");
  const lines: string[] = [];
  for (const s of report.saturated) {
    const ratio = ratioOf(s);
    lines.push(
      `- ${s.workers} worker${s.workers === 1 ? "" : "s"}: ${ratio.toFixed(2)} of the bare ceiling — aim ≥ 0.5 ${mark(ratio >= 0.5)}, team goal 0.7 ${mark(ratio >= 0.7)}`,
    );
  }
  if (report.moderate) {
    const p99 = report.moderate.p99Ms;
    lines.push(
      `- p99 at ${report.moderate.rate} msgs/s: ${p99} ms — aim < 25 ms ${mark(p99 < 25)}`,
    );
  }
  const rss = Math.max(
    ...report.saturated.map((s) => s.ours.maxRssMiB),
    report.moderate?.maxRssMiB ?? 0,
  );
  lines.push(`- worker RSS: ${Math.round(rss)} MiB at most — aim < 150 MiB ${mark(rss < 150)}`);
  lines.push(noiseVerdict([otherCpu(report)]));
  return lines;
}

/** The verdict line on other load, from each measurement's (% of one core). */
export function noiseVerdict(otherCpuPcts: readonly number[]): string {
  const noise = Math.round(Math.max(0, ...otherCpuPcts));
  const noisy = noise > 15 ? " (noisy: something else was running)" : "";
  return `- other load on the machine during the measurements: up to ${noise}% of a core${noisy}`;
}

/** The most CPU anything else used during any measurement, % of one core. */
function otherCpu(report: Report): number {
  const all = report.saturated.flatMap((s) => [s.ours, s.bare]);
  if (report.moderate) all.push(report.moderate);
  return Math.max(0, ...all.map((r) => r.otherCpuPct));
}

/** One JSON line: the 1-worker saturated figures at the top level, the rest nested. */
export function jsonLine(report: Report): string {
  const figures = (s: Saturated) => ({
    msgs_per_s: Math.round(s.ours.msgsPerS),
    ceiling_msgs_per_s: Math.round(s.bare.msgsPerS),
    ratio: ratioOf(s),
    p50_ms: s.ours.p50Ms,
    p99_ms: s.ours.p99Ms,
    max_ms: s.ours.maxMs,
    commands_per_msg: r1(s.ours.commandsPerMsg),
    commands_by_name: s.ours.commandsByName,
    ceiling_commands_per_msg: r1(s.bare.commandsPerMsg),
    redis_cpu_us_per_msg: Math.round(s.ours.redisCpuUsPerMsg),
    worker_cpu_us_per_msg: Math.round(s.ours.workerCpuUsPerMsg),
    ceiling_p50_ms: s.bare.p50Ms,
    ceiling_p99_ms: s.bare.p99Ms,
    accepted_per_s: Math.round(s.ours.acceptedPerS),
    worker_rss_mb: Math.round(s.ours.maxRssMiB),
  });
  const [one, ...more] = report.saturated;
  const m = report.moderate;
  return JSON.stringify({
    ...(one ? figures(one) : {}),
    ...Object.fromEntries(more.map((s) => [`workers_${s.workers}`, figures(s)])),
    moderate: m && {
      rate: m.rate,
      messages: m.messages,
      achieved_msgs_per_s: Math.round(m.msgsPerS),
      p50_ms: m.p50Ms,
      p99_ms: m.p99Ms,
      max_ms: m.maxMs,
      commands_per_msg: r1(m.commandsPerMsg),
      commands_by_name: m.commandsByName,
      worker_rss_mb: Math.round(m.maxRssMiB),
    },
    other_cpu_pct: Math.round(otherCpu(report)),
    messages: report.messages,
    runs: report.runs,
    body_bytes: report.bodyBytes,
    batch_size: report.batchSize,
    machine: report.machine,
    date: report.date,
  });
}

/** The markers around a section of the benchmarks document, e.g. `pipeline` or `mcp`. */
export const markers = (name: string) => ({
  start: `<!-- bench:${name}:start -->`,
  end: `<!-- bench:${name}:end -->`,
});
const { start: START, end: END } = markers("pipeline");
const INTRO = `# Benchmarks

Figures measured on real hardware by the scripts in \`bench/\`. Each section is rewritten by
the command named in it; text outside the marked sections is kept.
`;

/** The `pipeline` section of docs/benchmarks.md, markers included. */
export function section(report: Report): string {
  const m = report.machine;
  return `${START}
## Pipeline

Measured ${report.date} with \`${report.command}\`.

- Machine: ${m.cpu}, ${m.cores} cores (shared by Redis, the workers and the producer), ${m.ramGiB} GiB RAM, ${m.os}
- Node ${m.node}, Redis ${m.redis} (same host, loopback)
- ${report.messages.toLocaleString("en-US")} messages per saturated run, ${report.bodyBytes}-byte bodies, one recipient each over ${report.agents} agents, batch size ${report.batchSize}; medians of ${report.runs} run(s), ours and bare interleaved; a warm-up is sent and excluded before each measurement

${table(report)}

${verdicts(report).join("\n")}

How to read it:

- **msgs/s**: messages divided by the time from the first append until every message is in
  an inbox and every stage group (persist included) has nothing left to read or acknowledge.
  The producer appends in batches of 500 (a round trip each) as fast as it can, so the saturated runs
  queue up in the validate stream and their latencies are mostly queueing time.
- **Latency**: inbox entry id time minus ingress entry id time, both from the Redis clock
  (1 ms resolution), for every measured message.
- **bare ceiling**: the same four streams moved by processes that only do \`XREADGROUP\` →
  \`XADD\` (same fields, next stream; the last stage appends to an inbox) → \`XACK\`, one Redis
  batch per read, no decoding, no Lua, same batch size and number of processes. Its chain is
  linear (4 reads, 4 appends, 4 acks per message); ours also fans out to persist from route
  and deliver and does the per-message writes of each stage.
- **Redis cmds/msg**: \`INFO commandstats\` calls between the start and the end of the
  measurement, including commands run inside Lua scripts, excluding the producer's \`XADD\`
  and the benchmark's polling (\`XINFO\`, \`XLEN\`, \`INFO\`). Anything else using the same Redis
  at the time would count too.
- **CPU µs/msg**: Redis's \`used_cpu_user + used_cpu_sys\` and the worker processes'
  \`/proc/PID/stat\` time over the measurement, per message. **RSS**: the largest
  \`VmRSS\` of any worker process, sampled every 200 ms (the bare processes run under the
  \`tsx\` loader, which accounts for part of theirs).
- The recipients are registered agents (route delivers only to those), fresh for each run
  under a prefix of its own that is deleted afterwards; nobody fetches, so there are enough
  of them that no inbox reaches its quota of unacknowledged messages.
- \`npm run -s bench -- --json\` prints one JSON line (\`-s\` keeps npm's banner off stdout);
  \`BENCH_WORKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR"\` profiles the workers.
${END}`;
}

/**
 * Rewrites one marked section of the benchmarks document (`body` includes its markers);
 * a section not there yet is appended. The file is created if needed; the rest is kept.
 */
export function writeSection(file: string, name: string, body: string): void {
  const { start: open, end: close } = markers(name);
  const current = existsSync(file) ? readFileSync(file, "utf8") : INTRO;
  const start = current.indexOf(open);
  const end = current.indexOf(close);
  const next =
    start >= 0 && end > start
      ? current.slice(0, start) + body + current.slice(end + close.length)
      : `${current.trimEnd()}\n\n${body}\n`;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, next);
}

/**
 * Prints a benchmark's results on stdout (`json`: one JSON line, else the table and the
 * verdicts) and, when `write`, rewrites its section of docs/benchmarks.md.
 */
export function publish(
  options: { json: boolean; write: boolean },
  out: {
    name: string;
    jsonLine: () => string;
    table: () => string;
    verdicts: () => string[];
    section: () => string;
  },
): void {
  const text = () => `\n${out.table()}\n\n${out.verdicts().join("\n")}\n`;
  process.stdout.write(options.json ? `${out.jsonLine()}\n` : text());
  if (options.write) {
    const file = join(ROOT, "docs/benchmarks.md");
    writeSection(file, out.name, out.section());
    progress(`wrote ${file}`);
  }
}
