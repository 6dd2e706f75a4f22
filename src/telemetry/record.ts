import type { IncomingMessage, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import { UUID_V7_PATTERN, uuidv7Time } from "../protocol/ids.js";
import type { ToolName } from "../protocol/tools.js";
import { metrics, type DeliveryPath, type HttpRoute, type StageOutcome } from "./metrics.js";

/** One-line recorders for the places that observe: the runner, deliver, inbox, HTTP, tools. */

/**
 * The kinds of a stage's outcome, as telemetry knows them: the runner's `Outcome` (in
 * `src/pipeline/stage.ts`, a layer above) must fit, so a new kind fails to type-check there.
 */
export type OutcomeKind = "forward" | "done" | "reject" | "retry" | "dead_letter";

const OUTCOME_LABEL: Record<OutcomeKind, StageOutcome> = {
  forward: "forwarded",
  done: "done",
  reject: "rejected",
  retry: "retried",
  dead_letter: "dead_lettered",
};

/** Starts timing one batch of a stage; `done` records its outcomes and the duration. */
export function stageBatch(stage: string): {
  done<O extends { readonly kind: OutcomeKind }>(outcomes: readonly O[]): void;
} {
  const started = performance.now();
  return {
    done(outcomes) {
      metrics.stageBatchDuration.observe({ stage }, (performance.now() - started) / 1000);
      for (const outcome of outcomes) {
        metrics.stageEntries.inc({ stage, outcome: OUTCOME_LABEL[outcome.kind] });
      }
    },
  };
}

/**
 * Seconds since a message was accepted: the time inside its UUIDv7 id, set by the front
 * end that accepted it. Undefined for an id that is not a UUIDv7; 0 when clocks disagree.
 */
export function secondsSinceAccepted(messageId: string, now = Date.now()): number | undefined {
  if (!UUID_V7_PATTERN.test(messageId)) return undefined;
  return Math.max(0, now - uuidv7Time(messageId)) / 1000;
}

/** A message reached its recipient (appended to the inbox, or the webhook answered 2xx). */
export function recordDelivered(path: DeliveryPath, messageId: string, traceId?: string): void {
  const seconds = secondsSinceAccepted(messageId);
  if (seconds !== undefined) metrics.messageDelivery.observe({ path }, seconds, traceId);
}

/** Messages acknowledged by their recipient just now. */
export function recordAcked(messageIds: readonly string[]): void {
  const now = Date.now();
  for (const id of messageIds) {
    const seconds = secondsSinceAccepted(id, now);
    if (seconds !== undefined) metrics.messageAck.observe({}, seconds);
  }
}

const ROUTES: ReadonlySet<string> = new Set<HttpRoute>(["/mcp", "/metrics", "/healthz", "/readyz"]);
const METHODS: ReadonlySet<string> = new Set(["GET", "POST", "DELETE", "HEAD", "OPTIONS", "PUT"]);

/** A path's `route` label: the front end's own paths, `/v1` for all of the HTTP API, else `other`. */
function routeOf(path: string): HttpRoute {
  if (ROUTES.has(path)) return path as HttpRoute;
  return path === "/v1" || path.startsWith("/v1/") ? "/v1" : "other";
}

/** Counts and times an HTTP request when its response is done (or the client went away). */
export function observeHttp(req: IncomingMessage, res: ServerResponse, path: string): void {
  const started = performance.now();
  const route = routeOf(path);
  const method = METHODS.has(req.method ?? "") ? req.method! : "other";
  res.once("close", () => {
    metrics.httpRequests.inc({ method, route, status: res.statusCode });
    metrics.httpRequestDuration.observe({ route }, (performance.now() - started) / 1000);
  });
}

/** Starts timing a tool call; hand the result to the returned function, which records it. */
export function toolCall(tool: ToolName): <R extends { isError?: boolean }>(result: R) => R {
  const started = performance.now();
  return (result) => {
    metrics.mcpToolCalls.inc({ tool, result: result.isError === true ? "error" : "ok" });
    metrics.mcpToolDuration.observe({ tool }, (performance.now() - started) / 1000);
    return result;
  };
}
