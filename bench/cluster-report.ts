import type { Result } from "./measure.js";
import { markers, noiseVerdict, type Machine } from "./report.js";

export type CaseKey = "single" | "cluster_3" | "cluster_6";

export interface ClusterReport {
  date: string;
  command: string;
  machine: Machine;
  messages: number;
  runs: number;
  workers: number;
  bodyBytes: number;
  agents: number;
  cases: { key: CaseKey; name: string; partitions: number; result: Result }[];
}

/** A node's share of the Redis CPU counts as "about 1/n" within this fraction of 1/n. */
const SHARE_TOLERANCE = 0.25;
/** Commands per message on a cluster may differ from one Redis's by this fraction. */
const COMMANDS_TOLERANCE = 0.1;

/** How a case's Redis work falls on its masters. */
export interface Spread {
  nodes: number;
  /** Redis CPU per message of each master, µs, largest first. */
  perNodeUs: number[];
  /** Each master's share of the case's Redis CPU, largest first. */
  shares: number[];
  /** The busiest master's CPU × masters ÷ all masters' CPU: 1 when the work spreads evenly. */
  imbalance: number;
}

export function spreadOf(r: Result): Spread {
  const perNodeUs = Object.values(r.redisCpuUsPerMsgByNode).sort((a, b) => b - a);
  const total = perNodeUs.reduce((a, b) => a + b, 0);
  const shares = perNodeUs.map((us) => us / total);
  return { nodes: perNodeUs.length, perNodeUs, shares, imbalance: shares[0]! * perNodeUs.length };
}

/**
 * Where N masters saturate: the busiest one's main thread at a full core. With C the
 * Redis CPU per message over all masters and k the imbalance, sat(N) = N ÷ (k × C); for
 * the measured N that is 1 ÷ (the busiest master's CPU per message).
 */
export function saturationAt(r: Result, nodes: number): number {
  const spread = spreadOf(r);
  return (nodes * 1e6) / (spread.imbalance * r.redisCpuUsPerMsg);
}

const byKey = (report: ClusterReport, key: CaseKey) => report.cases.find((c) => c.key === key)!;
const whole = (x: number) => Math.round(x).toLocaleString("en-US");
const pct = (x: number) => `${Math.round(x * 100)}%`;
const commandsRatio = (report: ClusterReport, r: Result) =>
  r.commandsPerMsg / byKey(report, "single").result.commandsPerMsg;

export function table(report: ClusterReport): string {
  const single = byKey(report, "single").result;
  const lines = [
    "| Setup | msgs/s | ÷ one Redis | Redis cmds/msg | ÷ one Redis | socket reads/msg | Redis CPU µs/msg, all masters | each master µs/msg | each master's share | worker CPU µs/msg |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const { name, result: r } of report.cases) {
    const spread = spreadOf(r);
    const cells = [
      name,
      whole(r.msgsPerS),
      (r.msgsPerS / single.msgsPerS).toFixed(2),
      r.commandsPerMsg.toFixed(1),
      commandsRatio(report, r).toFixed(2),
      r.redisReadsPerMsg.toFixed(1),
      whole(r.redisCpuUsPerMsg),
      spread.perNodeUs.map(whole).join(" / "),
      spread.shares.map(pct).join(" / "),
      whole(r.workerCpuUsPerMsg),
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

/** Projected saturation for N masters: from one Redis for N = 1, from the 6-partition case after. */
function projections(report: ClusterReport) {
  const single = byKey(report, "single").result;
  const six = byKey(report, "cluster_6").result;
  const at = (nodes: number, from: string, r: Result) => {
    const msgsPerS = saturationAt(r, nodes);
    return { nodes, from, msgsPerS, workerCores: (msgsPerS * r.workerCpuUsPerMsg) / 1e6 };
  };
  return [
    at(1, "one Redis, 1 partition", single),
    ...[3, 6, 12].map((n) => at(n, "3 masters, 6 partitions", six)),
  ];
}

export function projectionTable(report: ClusterReport): string {
  const lines = [
    "| Masters N | partitions needed | projected from | Redis saturates at msgs/s | worker cores needed at that rate |",
    "| ---: | ---: | --- | ---: | ---: |",
  ];
  for (const p of projections(report)) {
    lines.push(
      `| ${p.nodes} | ≥ ${p.nodes} | ${p.from} | ${whole(p.msgsPerS)} | ${p.workerCores.toFixed(1)} |`,
    );
  }
  return lines.join("\n");
}

export function verdicts(report: ClusterReport): string[] {
  const mark = (ok: boolean) => (ok ? "met" : "NOT met");
  const lines: string[] = [];
  for (const { name, key, result: r } of report.cases) {
    if (key === "single") continue;
    const spread = spreadOf(r);
    const even = 1 / spread.nodes;
    const evenly = spread.shares.every((s) => Math.abs(s - even) <= even * SHARE_TOLERANCE);
    const ratio = commandsRatio(report, r);
    lines.push(
      `- ${name}: each master's share of Redis CPU ${spread.shares.map(pct).join(" / ")} — aim about 1/${spread.nodes} (within ±${pct(SHARE_TOLERANCE)} of it) ${mark(evenly)}; commands per message ${ratio.toFixed(2)} × one Redis's — aim within ${pct(COMMANDS_TOLERANCE)} ${mark(Math.abs(ratio - 1) <= COMMANDS_TOLERANCE)}`,
    );
  }
  lines.push(noiseVerdict(report.cases.map((c) => c.result.otherCpuPct)));
  return lines;
}

export function jsonLine(report: ClusterReport): string {
  const figures = (r: Result) => {
    const spread = spreadOf(r);
    return {
      msgs_per_s: Math.round(r.msgsPerS),
      p50_ms: r.p50Ms,
      p99_ms: r.p99Ms,
      commands_per_msg: Math.round(r.commandsPerMsg * 10) / 10,
      commands_by_name: r.commandsByName,
      socket_reads_per_msg: Math.round(r.redisReadsPerMsg * 10) / 10,
      redis_cpu_us_per_msg: Math.round(r.redisCpuUsPerMsg),
      redis_cpu_us_per_msg_by_node: Object.fromEntries(
        Object.entries(r.redisCpuUsPerMsgByNode).map(([node, us]) => [node, Math.round(us)]),
      ),
      node_shares: spread.shares.map((s) => Math.round(s * 1000) / 1000),
      worker_cpu_us_per_msg: Math.round(r.workerCpuUsPerMsg),
      worker_rss_mb: Math.round(r.maxRssMiB),
      other_cpu_pct: Math.round(r.otherCpuPct),
    };
  };
  return JSON.stringify({
    ...Object.fromEntries(report.cases.map((c) => [c.key, figures(c.result)])),
    projection: projections(report).map((p) => ({
      masters: p.nodes,
      from: p.from,
      saturation_msgs_per_s: Math.round(p.msgsPerS),
      worker_cores: Math.round(p.workerCores * 10) / 10,
    })),
    messages: report.messages,
    runs: report.runs,
    workers: report.workers,
    body_bytes: report.bodyBytes,
    machine: report.machine,
    date: report.date,
  });
}

/** What a message costs Redis on the cluster against one Redis, and how pipelined the commands come. */
function clusterCost(report: ClusterReport): string {
  const single = byKey(report, "single").result;
  const three = byKey(report, "cluster_3").result;
  const perRead = (r: Result) => (r.commandsPerMsg / r.redisReadsPerMsg).toFixed(1);
  return (
    `With the same commands, the 3 masters together use ${(three.redisCpuUsPerMsg / single.redisCpuUsPerMsg).toFixed(1)}× ` +
    "the Redis CPU per message of one Redis (3 partitions), and the commands come less pipelined " +
    `(${perRead(single)} commands per socket read on one Redis, ${perRead(three)} on the cluster): ` +
    "a batch is split into one pipeline per master, so each master reads a share of it at a " +
    "time, and every master also feeds its replica."
  );
}

const { start: START, end: END } = markers("cluster");

export function section(report: ClusterReport): string {
  const m = report.machine;
  const plural = report.workers === 1 ? "" : "es";
  return `${START}
## Redis Cluster

Measured ${report.date} with \`${report.command}\`.

- Machine: ${m.cpu}, ${m.cores} cores shared by every Redis process (one Redis; a cluster of 3 masters and 3 replicas), the workers and the producer; ${m.ramGiB} GiB RAM, ${m.os}
- Node ${m.node}, Redis ${m.redis} (same host, loopback); the one Redis and the cluster's nodes are redis-servers the benchmark starts on spare ports (no persistence) and stops after
- ${report.messages.toLocaleString("en-US")} messages per run, ${report.bodyBytes}-byte bodies, one recipient each over ${report.agents} agents, each message a thread of its own (so spread over the partitions); ${report.workers} worker process${plural}; medians of ${report.runs} runs, the three setups interleaved; a warm-up is sent and excluded before each measurement

${table(report)}

${verdicts(report).join("\n")}

Projected saturation (see below for the formula and what it assumes):

${projectionTable(report)}

How to read it:

- On this machine throughput cannot grow with nodes: every Redis and the workers share the
  same ${m.cores} cores, and the workers use most of the CPU. What the cluster runs show is how the
  Redis work spreads: the commands per message stay those of one Redis, and each master's
  share of the Redis CPU (a third each if even) is in the verdicts.
- A partition's streams live in the slot of its hash tag, chosen (\`src/redis/partition-tag.ts\`)
  so that with the even slot ranges of \`redis-cli --cluster create\`, 3 partitions put one on
  each of 3 masters and 6 put two on each. Agents, message records and threads spread by
  their own tags (the slot of their name), so the shares are near, not exactly, a third.
- ${clusterCost(report)}
- **Redis cmds/msg**: \`INFO commandstats\` calls of every master summed, between the start and
  the end of the measurement, Lua-internal calls included, the producer's \`XADD\` and the
  benchmark's polling excluded. **Redis CPU**: each master's \`used_cpu_user + used_cpu_sys\`
  over the measurement, per message; the replicas' CPU is not counted. **Socket reads**:
  \`total_reads_processed\` of every master, per message, the benchmark's polling included:
  commands that come pipelined are read together, so Redis pays the system calls of a read
  once for many. **Worker CPU**: the worker processes' \`/proc/PID/stat\` time, per
  message.
- **Projection**: a master saturates when its main thread needs a whole core. With C the
  Redis CPU per message over all masters and k the imbalance (the busiest master's CPU ×
  masters ÷ C; 1 when even), N masters saturate at about **N ÷ (k × C)** messages/s; for the
  measured 3 masters that is 1 ÷ (the busiest master's CPU per message). It assumes each
  master has a core of its own (and its replica another), at least N partitions spread as
  evenly over N masters as 6 are over 3 here, commands per message and CPU per command that
  stay as measured (no network between hosts, the same batch sizes), and workers enough
  to keep up: the last column is the worker CPU that rate needs, in cores.
${END}`;
}
