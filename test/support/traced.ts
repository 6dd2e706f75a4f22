import type { ChildProcess } from "node:child_process";
import { finished, start, type RunResult } from "./cli.js";
import { startServe, type ServeProcess } from "./mcp.js";
import type { CollectedSpan, OtlpReceiver } from "./otlp.js";

/**
 * Switchboard split over real processes, exporting traces: a front end alone
 * (`serve --no-workers`) and workers for some stages each, plus what tracing tests ask of
 * the spans they collect.
 */

/**
 * Tracing on, every span, exported to `endpoint` within a fraction of a second, with
 * `protocol` as `OTEL_EXPORTER_OTLP_PROTOCOL` (unset: the default, http/protobuf).
 */
export function tracingEnv(endpoint: string, protocol?: string): NodeJS.ProcessEnv {
  return {
    OTEL_TRACES_EXPORTER: "otlp",
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
    OTEL_TRACES_SAMPLER: "parentbased_always_on",
    OTEL_BSP_SCHEDULE_DELAY: "100",
    OTEL_EXPORTER_OTLP_TIMEOUT: "1000",
    OTEL_SERVICE_NAME: "switchboard-test",
  };
}

export interface WorkerProcess {
  child: ChildProcess;
  stderr(): string;
  stop(): Promise<RunResult>;
}

/** Starts `switchboard worker --stages STAGES` and waits until its stages run. */
export async function startWorker(
  env: NodeJS.ProcessEnv,
  stages: string,
  timeoutMs = 20_000,
): Promise<WorkerProcess> {
  const child = start(["worker", "--stages", stages], env);
  const result = finished(child);
  let stderr = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker not ready:\n${stderr}`)), timeoutMs);
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
      if (!stderr.includes('"worker started"')) return;
      clearTimeout(timer);
      resolve();
    });
    void result.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code}:\n${stderr}`));
    });
  });
  return {
    child,
    stderr: () => stderr,
    stop: () => {
      child.kill("SIGTERM");
      return result;
    },
  };
}

/** The stages of each worker of {@link startSplit}; the front end runs none. */
export const WORKER_STAGES = ["validate,route", "deliver,persist"] as const;

export interface Split {
  serve: ServeProcess;
  workers: WorkerProcess[];
  /** Stops every process (SIGTERM); their exits. */
  stop(): Promise<RunResult[]>;
}

/** `serve --no-workers` and one worker per entry of {@link WORKER_STAGES}. */
export async function startSplit(env: NodeJS.ProcessEnv): Promise<Split> {
  const [serve, ...workers] = await Promise.all([
    startServe(env, ["--no-workers"]),
    ...WORKER_STAGES.map((stages) => startWorker(env, stages)),
  ]);
  return {
    serve,
    workers,
    stop: () => Promise.all([serve.stop(), ...workers.map((w) => w.stop())]),
  };
}

/**
 * One expected span of a message's trace: its name, the name of its parent (`null`: the
 * client's span, outside Switchboard, or none), attributes it must have, and the process
 * that exports it (its `switchboard.stages`: "none" for the front end).
 */
export interface Hop {
  name: string;
  parent: string | null;
  process: string;
  attributes?: Record<string, string | number | boolean>;
  /** How many such spans (default 1), e.g. 2 for a delivery tried twice. */
  count?: number;
}

/** The spans that are this hop: its name, its parent's name and its attributes. */
function spansOfHop(
  spans: readonly CollectedSpan[],
  hop: Hop,
  clientSpanId: string,
): CollectedSpan[] {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  return spans.filter((span) => {
    if (span.name !== hop.name) return false;
    const parent = byId.get(span.parentSpanId);
    const isParent =
      hop.parent === null ? span.parentSpanId === clientSpanId : parent?.name === hop.parent;
    return (
      isParent && Object.entries(hop.attributes ?? {}).every(([k, v]) => span.attributes[k] === v)
    );
  });
}

/**
 * The spans of a trace once every hop is there, `clientSpanId` being the parent of the
 * root hop ("" for none).
 */
export function waitForHops(
  receiver: OtlpReceiver,
  traceId: string,
  hops: readonly Hop[],
  clientSpanId = "",
): Promise<CollectedSpan[]> {
  return receiver.waitFor(`the hops of trace ${traceId}`, () => {
    const spans = receiver.trace(traceId);
    const complete = hops.every(
      (hop) => spansOfHop(spans, hop, clientSpanId).length >= (hop.count ?? 1),
    );
    return complete ? spans : undefined;
  });
}

/** What differs from the hops, one line each: counts (by name, parent, attributes), processes. */
export function checkHops(
  spans: readonly CollectedSpan[],
  hops: readonly Hop[],
  clientSpanId = "",
): string[] {
  const problems: string[] = [];
  for (const hop of hops) {
    const found = spansOfHop(spans, hop, clientSpanId);
    const what = `${hop.name} under ${hop.parent ?? "the client"}${hop.attributes ? ` ${JSON.stringify(hop.attributes)}` : ""}`;
    if (found.length !== (hop.count ?? 1)) {
      problems.push(`${what}: ${found.length} span(s), expected ${hop.count ?? 1}`);
    }
    for (const span of found) {
      const process = String(span.resource["switchboard.stages"]);
      if (process !== hop.process)
        problems.push(`${what}: exported by ${process}, not ${hop.process}`);
    }
  }
  return problems;
}
