import type { Mode } from "./mcp-agents.js";
import { median } from "./redis-tools.js";
import { markers, type Machine } from "./report.js";

export type Server = "switchboard" | "baseline" | "bare";

/** One window of one tool against one server. */
export interface Figures {
  calls: number;
  callsPerS: number;
  /** The server process's CPU (/proc/PID/stat) over the window ÷ the calls that ended in it. */
  cpuMsPerCall: number;
  p50Ms: number;
  p99Ms: number;
}

/** Medians across runs of one era and tool, Switchboard's and the bare server's. */
export interface Row {
  mode: Mode;
  tool: string;
  switchboard: Figures;
  bare: Figures;
  /** BENCH_BASELINE_BIN's build, when one was given. */
  baseline?: Figures | undefined;
}

export interface CallsReport {
  date: string;
  command: string;
  machine: Machine;
  runs: number;
  seconds: number;
  rows: Row[];
  /** Whether another build was measured as `baseline` (BENCH_BASELINE_BIN). */
  baseline: boolean;
}

/** The serve CPU per call aimed at (issue 15, item 4). */
const AIM_MS: Readonly<Record<string, number>> = { heartbeat: 0.4, send_message: 0.8 };

export const keyOf = (k: { server: Server; mode: Mode; tool: string }) =>
  `${k.server} ${k.mode} ${k.tool}`;

function medianFigures(runs: readonly Figures[]): Figures {
  if (runs.length === 0) throw new Error("no runs to combine");
  const m = (pick: (f: Figures) => number) => median(runs.map(pick));
  return {
    calls: m((f) => f.calls),
    callsPerS: m((f) => f.callsPerS),
    cpuMsPerCall: m((f) => f.cpuMsPerCall),
    p50Ms: m((f) => f.p50Ms),
    p99Ms: m((f) => f.p99Ms),
  };
}

export function rowsOf(
  seen: ReadonlyMap<string, Figures[]>,
  modes: readonly Mode[],
  tools: readonly string[],
): Row[] {
  return modes.flatMap((mode) =>
    tools.map((tool) => {
      const of = (server: Server) => seen.get(keyOf({ server, mode, tool })) ?? [];
      const baseline = of("baseline");
      return {
        mode,
        tool,
        switchboard: medianFigures(of("switchboard")),
        bare: medianFigures(of("bare")),
        baseline: baseline.length === 0 ? undefined : medianFigures(baseline),
      };
    }),
  );
}

const era = (mode: Mode) => (mode === "session" ? "2025-11-25 session" : "2026-07-28 stateless");
const f2 = (x: number) => x.toFixed(2);
const f1 = (x: number) => x.toFixed(1);
const whole = (x: number) => Math.round(x).toLocaleString("en-US");
const cpuRatio = (r: Row) => r.switchboard.cpuMsPerCall / r.bare.cpuMsPerCall;

export function callsTable(report: CallsReport): string {
  const before = report.baseline;
  const lines = [
    `| Era | tool | calls/s | bare calls/s | serve CPU ms/call | bare CPU ms/call | CPU ratio | p50 / p99 ms | bare p50 / p99 ms |${before ? " baseline CPU ms/call | baseline p50 / p99 ms |" : ""}`,
    `| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |${before ? " ---: | ---: |" : ""}`,
  ];
  for (const r of report.rows) {
    const s = r.switchboard;
    const b = r.bare;
    const cells = [
      era(r.mode),
      `\`${r.tool}\``,
      whole(s.callsPerS),
      whole(b.callsPerS),
      f2(s.cpuMsPerCall),
      f2(b.cpuMsPerCall),
      `${f1(cpuRatio(r))}×`,
      `${f1(s.p50Ms)} / ${f1(s.p99Ms)}`,
      `${f1(b.p50Ms)} / ${f1(b.p99Ms)}`,
    ];
    const o = r.baseline;
    if (o !== undefined) cells.push(f2(o.cpuMsPerCall), `${f1(o.p50Ms)} / ${f1(o.p99Ms)}`);
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

export function callsVerdicts(report: CallsReport): string[] {
  return report.rows.map((r) => {
    const aim = AIM_MS[r.tool] ?? 0;
    const met = r.switchboard.cpuMsPerCall <= aim ? "met" : "NOT met";
    return `- ${era(r.mode)} \`${r.tool}\`: ${f2(r.switchboard.cpuMsPerCall)} ms of serve CPU per call — aim ≤ ${aim} ms ${met}`;
  });
}

export function callsJsonLine(report: CallsReport): string {
  const figures = (f: Figures) => ({
    calls_per_s: Math.round(f.callsPerS),
    cpu_ms_per_call: Math.round(f.cpuMsPerCall * 1000) / 1000,
    p50_ms: Math.round(f.p50Ms * 100) / 100,
    p99_ms: Math.round(f.p99Ms * 100) / 100,
  });
  return JSON.stringify({
    ...Object.fromEntries(
      report.rows.map((r) => [
        `${r.mode}_${r.tool}`,
        {
          ...figures(r.switchboard),
          bare: figures(r.bare),
          ...(r.baseline === undefined ? {} : { baseline: figures(r.baseline) }),
          cpu_ratio: Math.round(cpuRatio(r) * 10) / 10,
        },
      ]),
    ),
    runs: report.runs,
    seconds: report.seconds,
    machine: report.machine,
    date: report.date,
  });
}

/** The `mcp-calls` section of docs/benchmarks.md, markers included. */
export function callsSection(report: CallsReport): string {
  const m = report.machine;
  const { start, end } = markers("mcp-calls");
  return `${start}
## MCP front end: CPU per call

Measured ${report.date} with \`${report.command}\`.

- Machine: ${m.cpu}, ${m.cores} cores (shared by Redis, the server and the clients), ${m.ramGiB} GiB RAM, ${m.os}
- Node ${m.node}, Redis ${m.redis} (same host, loopback)
- ${report.seconds} s measured per tool and era after 1 s of warm-up; medians of ${report.runs} run(s); in every run one \`switchboard serve\` and one bare server, each going first in turn

${callsTable(report)}

${callsVerdicts(report).join("\n")}

How to read it:

- 10 v2 MCP clients call the tool back to back (closed loop): \`heartbeat {}\`, then
  \`send_message {to: [agent i+1], body: {n}}\`. *2025-11-25 session*: the client's default
  (\`Mcp-Session-Id\`, the session bound by \`register_agent\`); *2026-07-28 stateless*: the
  token as \`Authorization: Bearer\` on every request.
- **serve CPU ms/call**: the server process's CPU (\`/proc/PID/stat\`) over the window ÷ the
  calls that ended in it. For Switchboard that is the whole \`switchboard serve\`: front end
  *and* the four stages, which carry every message sent to its inbox. This run raises the
  inbox quota and the send rate (\`limits.sendRate\`) so that neither refuses a call; both
  are still checked.
- **bare**: bench/bare-mcp-server.ts: the same SDK, HTTP stack and era handling (a server
  per 2026-07-28 request, 2025-11-25 sessions), as many tools advertised with the same input
  schemas, each handler returning a constant; no Redis. **CPU ratio** is Switchboard's CPU
  per call ÷ the bare server's.
- **baseline** (with \`BENCH_BASELINE_BIN=path/to/other/bin/switchboard.js\`, e.g. a build
  of the commit before): that build's \`switchboard serve\`, interleaved as a third server.
- p50 / p99: the call as the client sees it. The 10-agent send → fetch round trip is the
  \`--mcp\` section's.
${end}`;
}
