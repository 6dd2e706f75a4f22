import { parseArgs, type ParseArgsConfig } from "node:util";

export interface BenchOptions {
  messages: number;
  runs: number;
  workers: number[];
  rate: number;
  seconds: number;
  warmup: number;
  agents: number;
  bodyBytes: number;
  timeoutS: number;
  quietS: number;
  json: boolean;
  write: boolean;
  build: boolean;
  /** `--mcp`: the MCP round-trip benchmark (bench/mcp.ts) instead of the pipeline one. */
  mcp: boolean;
  /** `--mcp-calls`: serve CPU and latency per `heartbeat` and `send_message`, against a bare MCP server (bench/mcp-calls.ts). */
  mcpCalls: boolean;
  /** Agent counts of the MCP session runs; the stateless run uses the first. */
  mcpAgents: number[];
  /** `--tracing`: pipeline throughput with tracing off, at 1% and at 100% (bench/tracing.ts). */
  tracing: boolean;
  /** `--failures`: webhook deliveries, a tenth failing once against none (bench/failures.ts). */
  failures: boolean;
  /** `--cluster`: one Redis against a 3-master Redis Cluster with 3 and 6 partitions (bench/cluster.ts). */
  cluster: boolean;
  /** `--peers`: the same four hops as a BullMQ and a NATS JetStream chain (bench/peers.ts). */
  peers: boolean;
}

export const USAGE = `usage: npm run bench -- [options]

  --messages N    messages per saturated run (default 100000)
  --runs N        saturated runs per worker count, ours and bare interleaved;
                  0 skips them (default 3)
  --workers LIST  worker process counts to measure (default 1,2)
  --rate N        messages per second of the moderate-rate run, 0 to skip it (default 1000)
  --seconds N     length of the moderate-rate run (default 10)
  --warmup N      messages sent and excluded before each measurement (default 500)
  --agents N      recipients the messages are spread over (default 100)
  --body-bytes N  body size as JSON (default 1024)
  --timeout-s N   how long messages may take to arrive after the last accept (default 300)
  --quiet-wait S  before each measurement, wait up to S seconds for the machine to be idle
                  (under 25% of a core busy); 0 disables (default 60)
  --json          print one JSON line on stdout instead of the table (use "npm run -s"
                  to keep npm's banner off stdout)
  --no-write      do not rewrite docs/benchmarks.md
  --no-build      do not rebuild dist/ even if src/ is newer

  --mcp           instead: the send → fetch round trip through MCP over HTTP, one
                  \`switchboard serve\` per run; uses --runs, --seconds (the measured window of
                  each run), --warmup (round trips excluded first), --quiet-wait, --json,
                  --no-write, --no-build
  --mcp-calls     instead: \`heartbeat\` and \`send_message\` called closed-loop by 10 v2
                  clients in each era, against a bare MCP server (same SDK and HTTP stack,
                  as many tools, trivial handlers) in the same run, interleaved: calls/s,
                  serve CPU ms per call, p50/p99; uses --runs, --seconds (each window),
                  --quiet-wait, --json, --no-write, --no-build
  --mcp-agents L  agent counts of the 2025-11-25 session runs; the stateless 2026-07-28
                  run uses the first (default 10,100)

  --tracing       instead: saturated pipeline throughput with tracing off, sampled at 1%
                  and at 100% (parentbased_traceidratio), exporting OTLP to a sink in this
                  process; the three interleaved in each run; uses --messages, --runs,
                  --workers, --warmup, --agents, --body-bytes, --quiet-wait, --json,
                  --no-write, --no-build
  --failures      instead: throughput to webhooks (push delivery to a receiver process of
                  the bench's) when 10% of deliveries fail once (a 503, then retried after
                  ~50 ms), with the endpoint's circuit breaker as configured and held off,
                  against none failing, and the same messages to inboxes (push ÷ inbox);
                  the cases interleaved in every run; checks every webhook
                  message is delivered exactly once; uses --messages, --runs (per case),
                  --warmup, --agents, --body-bytes, --timeout-s, --quiet-wait, --json,
                  --no-write, --no-build and the first of --workers

  --cluster       instead: saturated throughput on one Redis with 1 partition, on a Redis
                  Cluster of 3 masters and 3 replicas (started on spare ports, stopped after)
                  with 3 partitions and with 6, interleaved in every run: commands, Redis CPU
                  of each master and worker CPU per message, and where N masters saturate;
                  uses --messages, --runs, --warmup, --agents, --body-bytes, --timeout-s,
                  --quiet-wait, --json, --no-write, --no-build and the first of --workers

  --peers         instead: the same four hops (validate → route → deliver → persist) as a
                  BullMQ queue-per-stage chain and as a NATS JetStream pull-consumer chain
                  (skipped, saying why, when no NATS server with JetStream answers at
                  NATS_URL), one worker process each, interleaved with Switchboard (1
                  worker) in every run; prints Switchboard's throughput ÷ each; uses
                  --messages, --runs, --warmup, --agents, --body-bytes, --timeout-s,
                  --quiet-wait, --json, --no-write, --no-build

Environment: REDIS_URL (else 127.0.0.1:6379 or a spawned redis-server), SWITCHBOARD_PIPELINE,
BENCH_WORKER_NODE_ARGS (extra node flags for our workers, e.g. "--cpu-prof --cpu-prof-dir=DIR"),
BENCH_SERVE_NODE_ARGS (the same for the serve process of --mcp and --mcp-calls),
BENCH_BASELINE_BIN (--mcp-calls: another build's bin/switchboard.js, e.g. the commit before,
measured as a third server in every run), NATS_URL (--peers; default
nats://127.0.0.1:4222).
`;

function whole(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value.replaceAll("_", ""));
  if (!Number.isSafeInteger(n) || n < min) {
    throw new Error(`--${name} expects a whole number ≥ ${min}, got '${value}'\n\n${USAGE}`);
  }
  return n;
}

/** The benchmarks besides the pipeline one, each chosen by its flag. */
const BENCHES = ["mcp", "mcp-calls", "tracing", "failures", "cluster", "peers"] as const;

const OPTIONS = {
  messages: { type: "string" },
  runs: { type: "string" },
  workers: { type: "string" },
  rate: { type: "string" },
  seconds: { type: "string" },
  warmup: { type: "string" },
  agents: { type: "string" },
  "body-bytes": { type: "string" },
  "timeout-s": { type: "string" },
  "quiet-wait": { type: "string" },
  json: { type: "boolean", default: false },
  "no-write": { type: "boolean", default: false },
  "no-build": { type: "boolean", default: false },
  mcp: { type: "boolean", default: false },
  "mcp-calls": { type: "boolean", default: false },
  "mcp-agents": { type: "string" },
  tracing: { type: "boolean", default: false },
  failures: { type: "boolean", default: false },
  cluster: { type: "boolean", default: false },
  peers: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const satisfies ParseArgsConfig["options"];

/**
 * `--rate -5` joined as `--rate=-5`, so that a negative number reaches the option's check
 * (and its message) instead of being taken for an option.
 */
function joinNegatives(argv: readonly string[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    const name = arg.startsWith("--") ? arg.slice(2) : "";
    const next = argv[i + 1];
    if (Object.hasOwn(OPTIONS, name) && next !== undefined && /^-\d/.test(next)) {
      joined.push(`${arg}=${next}`);
      i += 1;
    } else joined.push(arg);
  }
  return joined;
}

/** The flags given; Node's refusals of unknown flags and stray words said with what to give instead. */
function parse(argv: readonly string[]) {
  try {
    return parseArgs({ args: joinNegatives(argv), strict: true, options: OPTIONS }).values;
  } catch (error) {
    throw explained(error);
  }
}

function explained(error: unknown): unknown {
  const code = (error as { code?: unknown }).code;
  const benches = BENCHES.map((name) => `--${name}`).join(", ");
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const flag = /'([^']+)'/.exec((error as Error).message)?.[1] ?? "?";
    return new Error(
      `unknown option ${flag}: the benchmarks are the pipeline (no flag), ${benches}; every option is below\n\n${USAGE}`,
    );
  }
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
    const word = /'([^']+)'/.exec((error as Error).message)?.[1] ?? "?";
    return new Error(
      `unexpected argument '${word}': choose a benchmark by its flag (${benches}) and give each option's value after it (--messages 2000)\n\n${USAGE}`,
    );
  }
  return error;
}

export function parseOptions(argv: string[]): BenchOptions {
  const values = parse(argv);
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const list = (name: string, value: string) =>
    value.split(",").map((item) => whole(name, item.trim(), 1));
  const benches = BENCHES.filter((name) => values[name]);
  if (benches.length > 1) {
    const given = benches.map((name) => `--${name}`).join(" and ");
    throw new Error(`${given} are separate benchmarks; give one\n\n${USAGE}`);
  }
  const workers = list("workers", values.workers ?? "1,2");
  return {
    messages: whole("messages", values.messages, 100_000),
    runs: whole("runs", values.runs, 3, 0),
    workers,
    rate: whole("rate", values.rate, 1000, 0),
    seconds: whole("seconds", values.seconds, 10),
    warmup: whole("warmup", values.warmup, 500),
    agents: whole("agents", values.agents, 100),
    bodyBytes: whole("body-bytes", values["body-bytes"], 1024),
    timeoutS: whole("timeout-s", values["timeout-s"], 300),
    quietS: whole("quiet-wait", values["quiet-wait"], 60, 0),
    json: values.json,
    write: !values["no-write"],
    build: !values["no-build"],
    mcp: values.mcp,
    mcpCalls: values["mcp-calls"],
    mcpAgents: list("mcp-agents", values["mcp-agents"] ?? "10,100"),
    tracing: values.tracing,
    failures: values.failures,
    cluster: values.cluster,
    peers: values.peers,
  };
}
