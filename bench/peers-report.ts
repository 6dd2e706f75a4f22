import type { ChainResult } from "./peer-measure.js";
import { JETSTREAM_MAX_ACK_PENDING } from "./peer-jetstream.js";
import { BULLMQ_CONCURRENCY } from "./peer-bullmq.js";
import { markers, noiseVerdict, type Machine } from "./report.js";
import { mediansOf } from "./redis-tools.js";

export interface PeersReport {
  date: string;
  command: string;
  machine: Machine;
  /** The NATS server's version, or why JetStream was skipped. */
  nats: { version: string } | { skipped: string };
  messages: number;
  runs: number;
  bodyBytes: number;
  agents: number;
  /** Switchboard first, then each peer measured. */
  rows: { key: string; name: string; result: ChainResult }[];
}

/** Switchboard's throughput should be at least this multiple of each peer's (issue 15). */
const AIM = 4;

/** Medians of every figure across runs, except RSS and other load: the largest seen. */
export function combineChains(runs: readonly ChainResult[]): ChainResult {
  const figures = [
    "elapsedMs",
    "msgsPerS",
    "acceptedPerS",
    "p50Ms",
    "p99Ms",
    "maxMs",
    "workerCpuUsPerMsg",
    "brokerCpuUsPerMsg",
  ] as const;
  return {
    ...mediansOf(runs, figures),
    maxRssMiB: Math.max(...runs.map((r) => r.maxRssMiB)),
    otherCpuPct: Math.max(...runs.map((r) => r.otherCpuPct)),
  };
}

const whole = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "–");
const ours = (report: PeersReport) => report.rows[0]!.result;
/** Worker and broker CPU per message together (NaN when the broker's is unknown). */
const cpuOf = (r: ChainResult) => r.workerCpuUsPerMsg + r.brokerCpuUsPerMsg;
/** Switchboard's msgs/s ÷ the row's. */
const ratioOf = (report: PeersReport, r: ChainResult) =>
  Math.round((ours(report).msgsPerS / r.msgsPerS) * 100) / 100;

export function table(report: PeersReport): string {
  const lines = [
    "| Chain | msgs/s | Switchboard ÷ it | p50 ms | p99 ms | worker CPU µs/msg | broker CPU µs/msg | CPU µs/msg, both | worker RSS MiB |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const { name, result: r } of report.rows) {
    const cells = [
      name,
      whole(r.msgsPerS),
      ratioOf(report, r).toFixed(2),
      String(r.p50Ms),
      String(r.p99Ms),
      whole(r.workerCpuUsPerMsg),
      whole(r.brokerCpuUsPerMsg),
      whole(cpuOf(r)),
      whole(r.maxRssMiB),
    ];
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

export function verdicts(report: PeersReport): string[] {
  const mark = (ok: boolean) => (ok ? "met" : "NOT met");
  const lines = report.rows.slice(1).map(({ name, result }) => {
    const ratio = ratioOf(report, result);
    const cpu = cpuOf(result) / cpuOf(ours(report));
    const cheaper = Number.isFinite(cpu)
      ? `; it uses ${cpu.toFixed(2)}× Switchboard's CPU per message`
      : "";
    return `- against ${name}: Switchboard ${ratio.toFixed(2)}× its throughput — aim ≥ ${AIM}× ${mark(ratio >= AIM)}${cheaper}`;
  });
  if ("skipped" in report.nats) lines.push(`- NATS JetStream not measured: ${report.nats.skipped}`);
  lines.push(noiseVerdict(report.rows.map((r) => r.result.otherCpuPct)));
  return lines;
}

export function jsonLine(report: PeersReport): string {
  const figures = (r: ChainResult) => ({
    msgs_per_s: Math.round(r.msgsPerS),
    switchboard_ratio: ratioOf(report, r),
    p50_ms: r.p50Ms,
    p99_ms: r.p99Ms,
    max_ms: r.maxMs,
    accepted_per_s: Math.round(r.acceptedPerS),
    worker_cpu_us_per_msg: Math.round(r.workerCpuUsPerMsg),
    broker_cpu_us_per_msg: Number.isFinite(r.brokerCpuUsPerMsg)
      ? Math.round(r.brokerCpuUsPerMsg)
      : null,
    cpu_us_per_msg: Number.isFinite(cpuOf(r)) ? Math.round(cpuOf(r)) : null,
    worker_rss_mb: Math.round(r.maxRssMiB),
    other_cpu_pct: Math.round(r.otherCpuPct),
  });
  return JSON.stringify({
    ...Object.fromEntries(report.rows.map((row) => [row.key, figures(row.result)])),
    nats: report.nats,
    messages: report.messages,
    runs: report.runs,
    body_bytes: report.bodyBytes,
    machine: report.machine,
    date: report.date,
  });
}

const { start: START, end: END } = markers("peers");

export function section(report: PeersReport): string {
  const m = report.machine;
  const nats =
    "version" in report.nats
      ? `NATS server ${report.nats.version} (same host, loopback, JetStream in memory)`
      : `NATS JetStream not measured: ${report.nats.skipped}`;
  return `${START}
## Against BullMQ and NATS JetStream

Measured ${report.date} with \`${report.command}\`.

- Machine: ${m.cpu}, ${m.cores} cores (shared by Redis, the NATS server, the workers and the producer), ${m.ramGiB} GiB RAM, ${m.os}
- Node ${m.node}, Redis ${m.redis} (same host, loopback, no persistence); ${nats}
- ${report.messages.toLocaleString("en-US")} messages per run, ${report.bodyBytes}-byte bodies, one recipient each over ${report.agents} agents; one worker process per chain running all four hops; medians of ${report.runs} run(s), the chains interleaved in a rotating order; a warm-up is sent and excluded before each measurement

${table(report)}

${verdicts(report).join("\n")}

How to read it:

- Every chain has the same four hops, each reading a message, decoding it, doing the
  hop's work and handing it on encoded again: **validate** checks the envelope against
  Switchboard's schema, **route** picks the recipient, **deliver** appends to the
  recipient's inbox (BullMQ: a Redis stream per recipient; JetStream: a subject per
  recipient in an inbox stream), **persist** writes a status (BullMQ: a Redis hash per
  message; JetStream: a message on a status stream). Switchboard's stages do what they do
  in production (\`npm run bench\` above describes them).
- **BullMQ, a queue per hop**: four queues on the benchmark's Redis, one \`Worker\` per
  queue with concurrency ${BULLMQ_CONCURRENCY}, each processor adding the next hop's job
  (\`removeOnComplete\`, one attempt); the producer adds jobs with \`addBulk\`, 500 a call.
- **NATS JetStream, a stream and pull consumer per hop**: four work-queue streams in
  memory (as the Redis here keeps nothing on disk either), a durable pull consumer each
  with \`max_ack_pending\` ${JETSTREAM_MAX_ACK_PENDING}, every message handled as it comes
  (so up to that many at once per hop) and acknowledged once the next hop's publish is
  acknowledged by its stream; the producer publishes 500 at a time and waits for their
  acknowledgements.
- **msgs/s**: messages divided by the time from the first send until every message is
  done: Switchboard's in an inbox with every stage idle, a peer's status persisted with
  nothing left in any hop. **Switchboard ÷ it**: Switchboard's msgs/s divided by the
  row's (the issue's aim: at least ${AIM}).
- **Latency**: Switchboard's from the ingress entry to the inbox entry (Redis clock); a
  peer's from the acknowledgement of its send (the producer's clock) to its status being
  written (the worker's clock; the same host).
- **worker CPU**: the worker process's \`/proc/PID/stat\` time per message. **broker CPU**:
  Redis's for Switchboard and BullMQ, the \`nats-server\` process's for JetStream ("–" when
  it is not a single local process); each includes taking the producer's sends. **both**:
  the two added, what a message costs the machine whatever else runs on it (the
  throughput of a shared machine moves with its other load; this moves less).
${END}`;
}
