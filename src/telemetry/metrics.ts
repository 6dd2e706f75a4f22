import { collectDefaultMetrics, Registry, type RegistryContentType } from "prom-client";
import { STAGE_NAMES } from "../config/pipeline.js";
import type { AgentStatus } from "../protocol/agent.js";
import type { ErrorCategory } from "../protocol/errors.js";
import { ToolInputs, type ToolName } from "../protocol/tools.js";
import { instrumentsIn, type NoLabels } from "./instruments.js";

/** The labels of a stage gauge: the stage, and the partition as a number. */
type StagePartition = { stage: string; partition: string };

/**
 * The Prometheus metrics of this process: every metric of the contract in
 * docs/operations.md, each behind a small typed interface whose label values are the
 * bounded sets the contract names (never a message id, URL or agent name, except `agent`
 * on the inbox backlog of the ten busiest agents). Recording is an in-memory increment;
 * nothing is exported until something scrapes `/metrics`.
 */

const STAGE_OUTCOMES = ["forwarded", "done", "rejected", "retried", "dead_lettered"] as const;
export type StageOutcome = (typeof STAGE_OUTCOMES)[number];
const DELIVERY_PATHS = ["inbox", "webhook"] as const;
export type DeliveryPath = (typeof DELIVERY_PATHS)[number];
const WEBHOOK_RESULTS = [
  ...["ok", "client_error", "server_error", "throttled"],
  ...["timeout", "unreachable", "forbidden", "breaker_open"],
] as const;
export type WebhookResult = (typeof WEBHOOK_RESULTS)[number];
export type HttpRoute = "/mcp" | "/v1" | "/metrics" | "/healthz" | "/readyz" | "other";
export type RetryJobState = "waiting" | "delayed" | "active" | "failed";
export type BreakerState = "closed" | "open" | "half_open";

/**
 * The registry of this process. Created for OpenMetrics (prom-client allows exemplars only
 * there); `renderMetrics` sets the format of each scrape.
 */
export const registry = new Registry<RegistryContentType>();
registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);

const { counter, histogram, exemplarHistogram, gauge } = instrumentsIn(registry, "switchboard_");

/** Buckets (seconds) for work within one process: a batch, an HTTP request. */
const FAST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60];
/** Buckets (seconds) for a message's way from acceptance into an inbox or to a webhook. */
const DELIVERY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
/** Buckets (seconds) from acceptance to acknowledgement: agents take their time. */
const ACK_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14_400];

const stageEntries = counter<{ stage: string; outcome: StageOutcome }>(
  "stage_entries_total",
  "Stage entries handled, by outcome (retried: handed to a retry queue, or left pending when none could be scheduled).",
  ["stage", "outcome"],
);
const webhookRequests = counter<{ result: WebhookResult }>(
  "webhook_requests_total",
  "Webhook delivery attempts, by result.",
  ["result"],
);
const toolCalls = counter<{ tool: ToolName; result: "ok" | "error" }>(
  "mcp_tool_calls_total",
  "MCP tool calls; error when the result is isError.",
  ["tool", "result"],
);
const deliveryLatency = exemplarHistogram<{ path: DeliveryPath }>(
  "message_delivery_seconds",
  "From acceptance to delivery (appended to the inbox, or the webhook answered 2xx).",
  ["path"],
  DELIVERY_BUCKETS,
);
const batchDuration = histogram<{ stage: string }>(
  "stage_batch_duration_seconds",
  "Handling and committing one batch of a stage.",
  ["stage"],
  FAST_BUCKETS,
);

/** Every instrument; the lead-wired ones are defined here too, so callers only record. */
export const metrics = {
  stageEntries: stageEntries.api,
  stageBatchDuration: batchDuration.api,
  messageDelivery: deliveryLatency.api,
  messageAck: exemplarHistogram<NoLabels>(
    "message_ack_seconds",
    "From acceptance to acknowledgement by the recipient.",
    [],
    ACK_BUCKETS,
  ).api,
  retries: counter<{ stage: string; attempt: number }>(
    "retries_total",
    "Retries scheduled, by stage and attempt number (1 is the first retry).",
    ["stage", "attempt"],
  ).api,
  webhookRequests: webhookRequests.api,
  webhookRequestDuration: histogram<NoLabels>(
    "webhook_request_duration_seconds",
    "Duration of one webhook request.",
    [],
    FAST_BUCKETS,
  ).api,
  deadLettersTotal: counter<{ stage: string; code: string }>(
    "dead_letters_total",
    "Entries moved to the dead letters, by stage and error code.",
    ["stage", "code"],
  ).api,
  errors: counter<{ category: ErrorCategory; code: string; stage: string }>(
    "errors_total",
    "Errors, by category, code and stage.",
    ["category", "code", "stage"],
  ).api,
  httpRequests: counter<{ method: string; route: HttpRoute; status: number }>(
    "http_requests_total",
    "HTTP requests answered, by method, route and status.",
    ["method", "route", "status"],
  ).api,
  httpRequestDuration: histogram<{ route: HttpRoute }>(
    "http_request_duration_seconds",
    "HTTP request duration, until the response ended (long polls included).",
    ["route"],
    FAST_BUCKETS,
  ).api,
  mcpToolCalls: toolCalls.api,
  mcpToolDuration: histogram<{ tool: ToolName }>(
    "mcp_tool_duration_seconds",
    "MCP tool call duration.",
    ["tool"],
    FAST_BUCKETS,
  ).api,

  // Cluster-wide, read from Redis when `serve` is scraped; one series per stage and
  // partition (at most MAX_PARTITIONS of them).
  groupLag: gauge<StagePartition>(
    "group_lag",
    "Entries of the stage's stream not yet handed to its group.",
    ["stage", "partition"],
  ),
  groupPending: gauge<StagePartition>("group_pending", "Entries handed out and not acknowledged.", [
    "stage",
    "partition",
  ]),
  groupConsumers: gauge<StagePartition>("group_consumers", "Consumers in the stage's group.", [
    "stage",
    "partition",
  ]),
  groupOldestPending: gauge<StagePartition>(
    "group_oldest_pending_seconds",
    "Age of the oldest pending entry of the stage (0 when none is pending).",
    ["stage", "partition"],
  ),
  // Not `dead_letters`: OpenMetrics names the counter `dead_letters_total` by the family
  // `dead_letters` (without `_total`), so a gauge of that name would be a second family.
  deadLetters: gauge<NoLabels>("dead_letters_depth", "Entries in the dead-letter store.", []),
  retryJobs: gauge<{ queue: string; state: RetryJobState }>(
    "retry_jobs",
    "Retry jobs, by queue and state.",
    ["queue", "state"],
  ),
  breakers: gauge<{ state: BreakerState }>(
    "breakers",
    "Webhook endpoints, by circuit breaker state.",
    ["state"],
  ),
  agents: gauge<{ status: AgentStatus }>("agents", "Registered agents, by status.", ["status"]),
  inboxBacklog: gauge<{ agent: string }>(
    "inbox_backlog",
    "Unacknowledged messages of the ten agents with the most.",
    ["agent"],
  ),
} as const;

// Known label sets start at zero, so their series exist (and rate() works) before the first event.
for (const stage of STAGE_NAMES) {
  for (const outcome of STAGE_OUTCOMES) stageEntries.api.inc({ stage, outcome }, 0);
  batchDuration.metric.zero({ stage });
}
for (const result of WEBHOOK_RESULTS) webhookRequests.api.inc({ result }, 0);
for (const tool of Object.keys(ToolInputs) as ToolName[]) {
  toolCalls.api.inc({ tool, result: "ok" }, 0);
  toolCalls.api.inc({ tool, result: "error" }, 0);
}
for (const path of DELIVERY_PATHS) deliveryLatency.metric.zero({ path });

let defaultsOn = false;

/** Adds prom-client's process and Node.js metrics; done by processes that serve `/metrics`. */
export function enableDefaultMetrics(): void {
  if (defaultsOn) return;
  defaultsOn = true;
  collectDefaultMetrics({ register: registry });
}
