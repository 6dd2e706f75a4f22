import type { IncomingMessage, ServerResponse } from "node:http";
import type { StageName } from "../config/pipeline.js";
import { toErrorInfo } from "../protocol/errors.js";
import { prefersOpenMetrics, renderMetrics } from "../telemetry/exposition.js";
import type { Logger } from "../telemetry/log.js";
import { enableDefaultMetrics } from "../telemetry/metrics.js";
import { collectClusterGauges } from "./gauges.js";
import { clusterReadiness, workerReadiness, type Readiness } from "./readiness.js";
import type { StatusSource } from "./status.js";

export const METRICS_PATH = "/metrics";
export const HEALTHZ_PATH = "/healthz";
export const READYZ_PATH = "/readyz";

/** Answers a probe path and returns true; false for any other path, left to the caller. */
export type ProbeHandler = (req: IncomingMessage, res: ServerResponse, path: string) => boolean;

export interface ProbeOptions {
  readiness: () => Promise<Readiness>;
  /** Run before each scrape: the cluster gauges of `serve`. */
  beforeScrape?: () => Promise<void>;
  log: Logger;
}

/** `/metrics`, `/healthz` and `/readyz` of `serve`: readiness and gauges of the whole pipeline. */
export function serveProbes(source: StatusSource, log: Logger): ProbeHandler {
  return probeHandler({
    readiness: () => clusterReadiness(source),
    beforeScrape: () => collectClusterGauges(source),
    log,
  });
}

/** The same paths for `switchboard worker --metrics-port`: its own metrics and readiness. */
export function workerProbes(
  source: StatusSource,
  stages: readonly StageName[],
  log: Logger,
): ProbeHandler {
  return probeHandler({ readiness: () => workerReadiness(source, stages), log });
}

/**
 * GET (or HEAD) `/healthz`: 200 `ok` while the process runs. `/readyz`: 200 or 503 with
 * the {@link Readiness} as JSON. `/metrics`: the registry, as OpenMetrics when the
 * scraper's `Accept` prefers it (exemplars), else the Prometheus text format.
 */
export function probeHandler(options: ProbeOptions): ProbeHandler {
  enableDefaultMetrics();
  let warned = false;
  const scrape = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      await options.beforeScrape?.();
      warned = false;
    } catch (error) {
      // The process's own metrics are still worth answering with.
      if (!warned) options.log.warn("cluster gauges not collected", { error: toErrorInfo(error) });
      warned = true;
    }
    const { contentType, body } = await renderMetrics(prefersOpenMetrics(req.headers.accept));
    res.writeHead(200, { "content-type": contentType }).end(req.method === "HEAD" ? "" : body);
  };
  const ready = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const readiness = await options.readiness();
    res
      .writeHead(readiness.ready ? 200 : 503, { "content-type": "application/json" })
      .end(req.method === "HEAD" ? "" : JSON.stringify(readiness));
  };
  // A Map: the path comes from the request, and must find nothing it was not given.
  const answers = new Map<string, (req: IncomingMessage, res: ServerResponse) => Promise<void>>([
    [METRICS_PATH, scrape],
    [READYZ_PATH, ready],
    [
      HEALTHZ_PATH,
      (_req, res) => {
        res.writeHead(200, { "content-type": "text/plain" }).end("ok");
        return Promise.resolve();
      },
    ],
  ]);
  return function answerProbe(req, res, path) {
    const answer = answers.get(path);
    if (answer === undefined) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" }).end("use GET");
      return true;
    }
    answer(req, res).catch((error: unknown) => {
      options.log.error("probe failed", { path, error: toErrorInfo(error) });
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end("internal error");
    });
    return true;
  };
}
