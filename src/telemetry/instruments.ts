import { isSpanContextValid, trace, TraceFlags } from "@opentelemetry/api";
import {
  Counter,
  Gauge,
  Histogram,
  type LabelValues,
  type Registry,
  type RegistryContentType,
} from "prom-client";

/**
 * Typed instruments over prom-client: each metric behind a small interface whose labels
 * are an object type, so a caller cannot pass a label the metric does not have. Which
 * metrics exist is metrics.ts's business.
 */

export interface CounterOf<L> {
  inc(labels: L, by?: number): void;
}
export interface HistogramOf<L> {
  observe(labels: L, seconds: number): void;
}
export interface ExemplarHistogramOf<L> {
  /** The exemplar carries `traceId`, or the active span's trace id when none is given. */
  observe(labels: L, seconds: number, traceId?: string): void;
}
export interface GaugeOf<L> {
  set(labels: L, value: number): void;
  /** Drops every series, for gauges rebuilt on each scrape. */
  reset(): void;
}

export type NoLabels = Record<never, never>;

type Names<L> = keyof L & string;
/** Typed labels as prom-client takes them (its own types know only the label names). */
const values = <L>(labels: L) => labels as unknown as LabelValues<Names<L>>;

/** Instrument makers that name each metric `prefix` + its name and register it in `registry`. */
export function instrumentsIn(registry: Registry<RegistryContentType>, prefix: string) {
  const registers = [registry];

  function counter<L extends object>(name: string, help: string, labels: Names<L>[]) {
    const metric = new Counter({
      name: prefix + name,
      help,
      labelNames: labels,
      registers,
    });
    return {
      metric,
      api: { inc: (l: L, by = 1) => metric.inc(values(l), by) } as CounterOf<L>,
    };
  }

  function histogram<L extends object>(
    name: string,
    help: string,
    labels: Names<L>[],
    buckets: number[],
  ) {
    const metric = new Histogram({
      name: prefix + name,
      help,
      labelNames: labels,
      buckets,
      registers,
    });
    return {
      metric,
      api: {
        observe: (l: L, seconds: number) => metric.observe(values(l), seconds),
      } as HistogramOf<L>,
    };
  }

  function exemplarHistogram<L extends object>(
    name: string,
    help: string,
    labels: Names<L>[],
    buckets: number[],
  ): { metric: Histogram; api: ExemplarHistogramOf<L> } {
    const metric = new Histogram({
      name: prefix + name,
      help,
      labelNames: labels,
      buckets,
      enableExemplars: true,
      registers,
    });
    return {
      metric,
      api: {
        observe(l, seconds, traceId = activeTraceId()) {
          // prom-client types exemplar labels as the metric's own labels; they are not.
          const exemplar = values<L>((traceId === undefined ? {} : { trace_id: traceId }) as L);
          metric.observe({ labels: values(l), value: seconds, exemplarLabels: exemplar });
        },
      },
    };
  }

  function gauge<L extends object>(name: string, help: string, labels: Names<L>[]): GaugeOf<L> {
    const metric = new Gauge({
      name: prefix + name,
      help,
      labelNames: labels,
      registers,
    });
    // prom-client gives a gauge without labels a sample at 0, from the start and after
    // reset(). A cluster gauge has none until it is read: a worker never reads it, and a
    // front end that cannot reach Redis leaves it out rather than report 0.
    const reset = () => {
      metric.reset();
      if (labels.length === 0) metric.remove(values({} as L));
    };
    reset();
    return { set: (l, value) => metric.set(values(l), value), reset };
  }

  return { counter, histogram, exemplarHistogram, gauge };
}

/** The trace id of the active span, when it is sampled; undefined with tracing off. */
function activeTraceId(): string | undefined {
  const context = trace.getActiveSpan()?.spanContext();
  if (context === undefined || !isSpanContextValid(context)) return undefined;
  return (context.traceFlags & TraceFlags.SAMPLED) !== 0 ? context.traceId : undefined;
}
