import { ms, type McpResult } from "./mcp-run.js";
import { median } from "./redis-tools.js";
import { markers, noiseVerdict, type Machine } from "./report.js";

export interface McpReport {
  date: string;
  command: string;
  machine: Machine;
  runs: number;
  seconds: number;
  warmup: number;
  /** Medians per scenario, in the order measured; the first is the headline. */
  results: McpResult[];
}

/** Medians of every figure across runs, except RSS and other load: the largest seen. */
export function combineMcp(runs: readonly McpResult[]): McpResult {
  const first = runs[0];
  if (first === undefined) throw new Error("no runs to combine");
  const m = (pick: (r: McpResult) => number) => median(runs.map(pick));
  const most = (pick: (r: McpResult) => number) => Math.max(...runs.map(pick));
  return {
    ...first,
    roundTrips: m((r) => r.roundTrips),
    roundTripsPerS: m((r) => r.roundTripsPerS),
    p50Ms: m((r) => r.p50Ms),
    p99Ms: m((r) => r.p99Ms),
    maxMs: m((r) => r.maxMs),
    sendP50Ms: m((r) => r.sendP50Ms),
    sendP99Ms: m((r) => r.sendP99Ms),
    ackP50Ms: m((r) => r.ackP50Ms),
    ackP99Ms: m((r) => r.ackP99Ms),
    callsPerS: m((r) => r.callsPerS),
    serveCpuPct: m((r) => r.serveCpuPct),
    serveCpuMsPerRoundTrip: m((r) => r.serveCpuMsPerRoundTrip),
    serveRssMiB: most((r) => r.serveRssMiB),
    clientCpuPct: m((r) => r.clientCpuPct),
    redisCpuPct: m((r) => r.redisCpuPct),
    redisCmdsPerRoundTrip: m((r) => r.redisCmdsPerRoundTrip),
    otherCpuPct: most((r) => r.otherCpuPct),
  };
}

const era = (r: McpResult) =>
  r.mode === "session" ? "2025-11-25 session" : "2026-07-28 stateless";
const fixed1 = (x: number) => (Math.round(x * 10) / 10).toFixed(1);
const whole = (x: number) => Math.round(x).toLocaleString("en-US");

/** The table of medians, as Markdown. */
export function mcpTable(report: McpReport): string {
  const lines = [
    "| Scenario | round trips/s | p50 ms | p99 ms | send p50/p99 ms | ack p50/p99 ms | tool calls/s | serve CPU % | serve CPU ms/round trip | serve RSS MiB | clients CPU % | Redis CPU % | Redis cmds/round trip | other load % (max) |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of report.results) {
    const cells = [
      `${r.agents} agents, ${era(r)}`,
      whole(r.roundTripsPerS),
      fixed1(r.p50Ms),
      fixed1(r.p99Ms),
      `${fixed1(r.sendP50Ms)} / ${fixed1(r.sendP99Ms)}`,
      `${fixed1(r.ackP50Ms)} / ${fixed1(r.ackP99Ms)}`,
      whole(r.callsPerS),
      whole(r.serveCpuPct),
      fixed1(r.serveCpuMsPerRoundTrip),
      whole(r.serveRssMiB),
      whole(r.clientCpuPct),
      whole(r.redisCpuPct),
      fixed1(r.redisCmdsPerRoundTrip),
      whole(r.otherCpuPct),
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

const otherCpu = (report: McpReport) => Math.max(0, ...report.results.map((r) => r.otherCpuPct));

/** The aim (p50 < 5 ms, p99 < 25 ms at 10 agents in sessions), one line per 10-agent row. */
export function mcpVerdicts(report: McpReport): string[] {
  const mark = (ok: boolean) => (ok ? "met" : "NOT met");
  const lines = report.results
    .filter((r) => r.agents === 10)
    .map(
      (r) =>
        `- ${r.agents} agents, ${era(r)}: p50 ${fixed1(r.p50Ms)} ms — aim < 5 ms ${mark(r.p50Ms < 5)}; ` +
        `p99 ${fixed1(r.p99Ms)} ms — aim < 25 ms ${mark(r.p99Ms < 25)}`,
    );
  lines.push(noiseVerdict([otherCpu(report)]));
  return lines;
}

function figures(r: McpResult) {
  return {
    agents: r.agents,
    mode: r.mode,
    p50_ms: ms(r.p50Ms),
    p99_ms: ms(r.p99Ms),
    max_ms: ms(r.maxMs),
    calls_per_s: Math.round(r.callsPerS),
    round_trips_per_s: Math.round(r.roundTripsPerS),
    round_trips: r.roundTrips,
    send_p50_ms: ms(r.sendP50Ms),
    send_p99_ms: ms(r.sendP99Ms),
    ack_p50_ms: ms(r.ackP50Ms),
    ack_p99_ms: ms(r.ackP99Ms),
    serve_cpu_pct: Math.round(r.serveCpuPct),
    serve_cpu_ms_per_round_trip: ms(r.serveCpuMsPerRoundTrip),
    serve_rss_mb: Math.round(r.serveRssMiB),
    client_cpu_pct: Math.round(r.clientCpuPct),
    redis_cpu_pct: Math.round(r.redisCpuPct),
    redis_commands_per_round_trip: ms(r.redisCmdsPerRoundTrip),
    other_cpu_pct: Math.round(r.otherCpuPct),
  };
}

/** One JSON line: the first scenario (10 agents, sessions) at the top level, the rest nested. */
export function mcpJsonLine(report: McpReport): string {
  const [first, ...more] = report.results;
  return JSON.stringify({
    ...(first ? figures(first) : {}),
    ...Object.fromEntries(more.map((r) => [`${r.mode}_${r.agents}`, figures(r)])),
    other_cpu_pct: Math.round(otherCpu(report)),
    runs: report.runs,
    seconds: report.seconds,
    warmup: report.warmup,
    machine: report.machine,
    date: report.date,
  });
}

/** The `mcp` section of docs/benchmarks.md, markers included. */
export function mcpSection(report: McpReport): string {
  const m = report.machine;
  const { start, end } = markers("mcp");
  return `${start}
## MCP round trip

Measured ${report.date} with \`${report.command}\`.

- Machine: ${m.cpu}, ${m.cores} cores (shared by Redis, the serve process and the clients), ${m.ramGiB} GiB RAM, ${m.os}
- Node ${m.node}, Redis ${m.redis} (same host, loopback)
- One \`switchboard serve\` (MCP front end and all four stages) per run, on a fresh prefix; ${report.seconds} s measured per run after ${report.warmup} warm-up round trips; medians of ${report.runs} run(s), scenarios interleaved

${mcpTable(report)}

${mcpVerdicts(report).join("\n")}

How to read it:

- **Round trip**: every agent has its own v2 MCP client. Agent i calls \`send_message\`
  to agent (i+1) mod N with a small JSON body and sends its next message only once this
  one came out of the recipient's \`fetch_inbox\`, so N messages are in flight; every
  agent long-polls \`fetch_inbox {limit: 10, wait_seconds: 5}\` and calls \`ack_messages\`
  for what it got. A message's round trip runs from the start of its \`send_message\` call
  to the return of the \`fetch_inbox\` that handed it out (one clock, \`performance.now()\`):
  HTTP, MCP, the four stages, the long poll's wake-up. Percentiles are over every message
  sent in the window.
- **send / ack**: the duration of those tool calls as the client sees them, for calls
  started in the window (\`fetch_inbox\` is left out: it long-polls).
- **tool calls/s**: every \`callTool\` that ended in the window (\`fetch_inbox\` included),
  all handled by the one front-end process; about 3 per round trip.
- **Eras**: *2025-11-25 session* is the v2 client's default (\`Mcp-Session-Id\`, the
  session bound to its agent by \`register_agent\`); *2026-07-28 stateless* pins that
  revision and presents the agent's token as \`Authorization: Bearer\` on every request.
- **CPU %**: of one core over the window, from \`/proc/PID/stat\` (serve: front end and
  stages), \`process.cpuUsage()\` (the clients, all in the benchmark process, on the same
  cores) and Redis's \`used_cpu_*\`; **serve CPU ms/round trip** is serve's CPU over the
  window divided by the round trips measured. **RSS**: the largest \`VmRSS\` of serve,
  sampled every 200 ms.
  **Redis cmds/round trip**: \`INFO commandstats\` calls in the window (Lua-internal calls
  included) per measured round trip. **other load**: the machine's busy time
  (\`/proc/stat\`) less serve, the clients and Redis, as % of a core: above ~15% the row
  is noisy.
- With N messages always in flight, once serve is busy most of the time the round trip is
  about N ÷ (round trips/s): queueing behind serve's CPU. \`--mcp-agents 1\` (one message
  in flight) shows the round trip without that queueing.
- \`npm run -s bench -- --mcp --json\` prints one JSON line;
  \`BENCH_SERVE_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR"\` profiles the serve process.
${end}`;
}
