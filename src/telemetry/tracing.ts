import { hostname } from "node:os";
import type * as OtelCore from "@opentelemetry/core";
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";
import { SyncContextManager } from "./context.js";
import type { Logger } from "./log.js";
import { setTracing } from "./spans.js";
import { tracingConfig, type PropagatorName, type TracingConfig } from "./tracing-config.js";

/**
 * Tracing set-up from the standard `OTEL_*` environment variables (read by
 * tracing-config.ts). Off unless an exporter is configured: then the OpenTelemetry SDK is
 * not even loaded, and every span helper is a no-op of `@opentelemetry/api`. On, spans go
 * through a BatchSpanProcessor to an OTLP/HTTP exporter (protobuf by default, or JSON); an
 * export that fails drops its spans and logs one warning, never blocks.
 */

/** How long a graceful stop waits for the last spans to be exported. @defaultValue 3000 */
export const FLUSH_TIMEOUT_MS = 3000;

/** `service.name` when `OTEL_SERVICE_NAME` (or `OTEL_RESOURCE_ATTRIBUTES`) sets none. */
export const DEFAULT_SERVICE_NAME = "switchboard";

export interface TracingOptions {
  /** The stages this process runs, as a resource attribute (`switchboard.stages`). */
  stages: readonly string[];
  /** Whether it serves agents (MCP over HTTP or stdio). */
  frontEnd: boolean;
  env?: NodeJS.ProcessEnv;
}

interface Running {
  shutdown(): Promise<void>;
}

let running: Running | undefined;

/**
 * Starts tracing for this process if the environment configures it; a no-op otherwise
 * (and when called twice). Every long-running command calls it before it starts work.
 */
export async function startTracing(log: Logger, options: TracingOptions): Promise<void> {
  if (running !== undefined) return;
  const config = tracingConfig(options.env);
  for (const warning of config.warnings) log.warn(warning);
  if (!config.enabled) {
    log.debug("tracing off", { reason: config.reason });
    return;
  }
  const tlog = log.child({ component: "tracing" });
  try {
    running = await startSdk(config, options, tlog);
  } catch (error) {
    tlog.warn("tracing could not start; running without it", {
      error: error instanceof Error ? error.message : String(error),
    });
    return;
  }
  setTracing(true, config.parentBased);
  tlog.info("tracing on", {
    endpoint: config.endpoint,
    protocol: config.protocol,
    sampler: config.sampler,
    propagators: config.propagators.join(",") || "none",
  });
}

type Enabled = Extract<TracingConfig, { enabled: true }>;

/** Loads the SDK (here, not at start-up: a process that does not trace never pays for it). */
async function startSdk(config: Enabled, options: TracingOptions, log: Logger): Promise<Running> {
  const [api, core, resources, node, otlp] = await Promise.all([
    import("@opentelemetry/api"),
    import("@opentelemetry/core"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/sdk-trace-node"),
    config.protocol === "http/json"
      ? import("@opentelemetry/exporter-trace-otlp-http")
      : import("@opentelemetry/exporter-trace-otlp-proto"),
  ]);
  api.diag.setLogger(diagLogger(log), api.DiagLogLevel.WARN);
  // The BatchSpanProcessor reports failed exports here too; the exporter below warns once.
  core.setGlobalErrorHandler((error) =>
    log.debug("trace export error", {
      error: typeof error === "string" ? error : (error.message ?? "unknown"),
    }),
  );
  const exporter = warnOnFailure(new otlp.OTLPTraceExporter(), config.endpoint, log, {
    success: core.ExportResultCode.SUCCESS,
  });
  const resource = resources
    .resourceFromAttributes({
      "service.name": DEFAULT_SERVICE_NAME,
      "host.name": hostname(),
      "process.pid": process.pid,
      "switchboard.stages": options.stages.join(",") || "none",
      "switchboard.front_end": options.frontEnd,
    })
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new node.NodeTracerProvider({
    resource,
    spanProcessors: [new node.BatchSpanProcessor(exporter)],
  });
  // Processes that serve agents keep a tool call's context across awaits; workers need not.
  provider.register({
    propagator: propagatorOf(core, config.propagators),
    ...(options.frontEnd ? {} : { contextManager: new SyncContextManager() }),
  });
  return provider;
}

/**
 * The propagator of the OpenTelemetry API (what BullMQ's job context and instrumented
 * libraries go through): the ones named, in order; null (none registered) for none.
 */
function propagatorOf(core: typeof OtelCore, names: PropagatorName[]) {
  if (names.length === 0) return null;
  const made = { tracecontext: core.W3CTraceContextPropagator, baggage: core.W3CBaggagePropagator };
  return new core.CompositePropagator({ propagators: names.map((name) => new made[name]()) });
}

/**
 * Exports what is left and stops tracing, waiting at most {@link FLUSH_TIMEOUT_MS}: an
 * unreachable collector must not hold up a graceful stop.
 */
export async function stopTracing(log: Logger, timeoutMs = FLUSH_TIMEOUT_MS): Promise<void> {
  const provider = running;
  if (provider === undefined) return;
  running = undefined;
  setTracing(false);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), timeoutMs);
  });
  const flushed = provider.shutdown().then(
    () => false,
    () => false,
  );
  const late = await Promise.race([flushed, timedOut]);
  clearTimeout(timer);
  if (late)
    log.warn("trace export did not finish in time; the last spans are dropped", { timeoutMs });
}

/**
 * Wraps an exporter to log one warning when exports start failing (spans are dropped
 * meanwhile; the pipeline never waits for them) and one line when they work again.
 */
export function warnOnFailure(
  exporter: SpanExporter,
  endpoint: string,
  log: Logger,
  codes: { success: OtelCore.ExportResultCode },
): SpanExporter {
  let failing = false;
  return {
    export(spans, done) {
      exporter.export(spans, (result) => {
        const ok = result.code === codes.success;
        if (!ok && !failing) {
          failing = true;
          log.warn("trace export failed; spans are dropped until it works again, work goes on", {
            endpoint,
            error: result.error?.message ?? "unknown",
          });
        } else if (ok && failing) {
          failing = false;
          log.info("trace export works again", { endpoint });
        }
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}

/** The SDK's own warnings and errors (bad sampler settings, full queues), once each. */
function diagLogger(log: Logger) {
  const seen = new Set<string>();
  const once = (message: string) => {
    const key = message.replace(/\d+/g, "N"); // "Dropped 120 spans …" once, not per count
    if (seen.has(key) || seen.size > 100) return;
    seen.add(key);
    log.warn(message);
  };
  const ignore = () => undefined;
  return { error: once, warn: once, info: ignore, debug: ignore, verbose: ignore };
}
