import { Registry } from "prom-client";
import { registry } from "./metrics.js";

/** `application/openmetrics-text; version=1.0.0; charset=utf-8`: carries exemplars. */
export const OPENMETRICS_CONTENT_TYPE = Registry.OPENMETRICS_CONTENT_TYPE;
/** `text/plain; version=0.0.4; charset=utf-8`: the classic Prometheus text format. */
export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

export interface Exposition {
  contentType: string;
  body: string;
}

/**
 * True when an `Accept` header ranks OpenMetrics at least as high as plain text, as
 * Prometheus's does (`application/openmetrics-text;version=1.0.0,…,text/plain;q=0.5`).
 * Without the header, or for a browser or curl, plain text.
 */
export function prefersOpenMetrics(accept: string | undefined): boolean {
  let openMetrics = 0;
  let text = 0;
  for (const part of (accept ?? "").split(",")) {
    const [type = "", ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith("q="));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    if (!(weight >= 0)) continue;
    if (type === "application/openmetrics-text") openMetrics = Math.max(openMetrics, weight);
    else if (type === "text/plain") text = Math.max(text, weight);
  }
  return openMetrics > 0 && openMetrics >= text;
}

/** The names metrics were registered with (see {@link render}). */
const registeredNames = new WeakMap<object, string>();
let queue: Promise<unknown> = Promise.resolve();

/**
 * The registry in either format. Renders run one at a time, since the format is a
 * setting of the registry and a render awaits collectors.
 */
export function renderMetrics(openMetrics: boolean): Promise<Exposition> {
  const rendered = queue.then(() => render(openMetrics));
  queue = rendered.catch(() => undefined);
  return rendered;
}

async function render(openMetrics: boolean): Promise<Exposition> {
  // prom-client's OpenMetrics output strips `_total` from counter names in place
  // (prometheus/client_js#829), which would leak into the next plain-text render.
  for (const metric of registry.getMetricsAsArray()) {
    const name = registeredNames.get(metric) ?? metric.name;
    registeredNames.set(metric, name);
    metric.name = name;
  }
  registry.setContentType(openMetrics ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE);
  return { contentType: registry.contentType, body: await registry.metrics() };
}
