import type { ErrorInfo } from "../../protocol/errors.js";
import { retryingStatus, type JobTry, type Tried } from "../../retry/jobs.js";
import { Field, type Output, type StreamEntry } from "../../streams/entry.js";
import type { WebhookResult } from "../../telemetry/metrics.js";
import type { WebhookResult as PostResult } from "../../webhook/post.js";

/** What the pushes' tries come to, and the entries they write: shared by the first tries and the jobs. */

/** What one try at a push came to: an outcome, or no try because the breaker holds it back. */
export type Pushed = Tried | Held;

/** The endpoint's breaker is open, or its probe is out: no try made; the next at `until`. */
export interface Held {
  kind: "held";
  endpoint: string;
  breaker: "open" | "half_open";
  until: number;
}

const RESULT_LABELS: Partial<Record<ErrorInfo["code"], WebhookResult>> = {
  WEBHOOK_THROTTLED: "throttled",
  WEBHOOK_SERVER_ERROR: "server_error",
  WEBHOOK_TIMEOUT: "timeout",
  WEBHOOK_UNREACHABLE: "unreachable",
  WEBHOOK_REJECTED: "client_error",
  WEBHOOK_FORBIDDEN: "forbidden",
};

/** Failures that say nothing of an endpoint's health: a refusal by it, or by us before connecting. */
export const NOT_ENDPOINT_FAILURES: ReadonlySet<ErrorInfo["code"]> = new Set([
  "WEBHOOK_REJECTED",
  "WEBHOOK_FORBIDDEN",
]);

export function resultLabel(result: PostResult): WebhookResult {
  return result.ok ? "ok" : (RESULT_LABELS[result.error.code] ?? "unreachable");
}

/**
 * The `delivered` status of a message for its recipient: by `webhook`, or appended to its
 * `inbox` (as the inbox entry `inboxId`).
 */
export function deliveredStatus(
  messageId: string,
  recipient: string,
  via: { webhook: true } | { inboxId: string },
): Output {
  const how =
    "inboxId" in via ? [Field.inboxId, via.inboxId, Field.via, "inbox"] : [Field.via, "webhook"];
  return {
    to: "persist",
    fields: [
      ...[Field.kind, "status", Field.messageId, messageId],
      ...[Field.recipient, recipient, Field.status, "delivered", ...how],
    ],
  };
}

/** The `delivered` status of a message pushed to its recipient's webhook. */
export const pushedStatus = (messageId: string, recipient: string): Output =>
  deliveredStatus(messageId, recipient, { webhook: true });

/** The entry's own fields (a push job's entry is a deliver entry). */
export function originalFields(entry: StreamEntry): (string | Buffer)[] {
  return [...entry.fields].flatMap(([name, value]) => [name, value]);
}

/** The `retrying` status of a push held back by its endpoint's breaker. */
export function heldStatus(entry: StreamEntry, thisTry: JobTry, held: Held): Output[] {
  return retryingStatus(entry, "deliver", breakerError(held.endpoint, held.until), {
    attempt: thisTry.attempt,
    max_attempts: thisTry.of,
    next_at: new Date(held.until).toISOString(),
    breaker: held.breaker,
  });
}

function breakerError(endpoint: string, until: number): ErrorInfo {
  return {
    code: "BREAKER_OPEN",
    message: `the circuit breaker of ${endpoint} is open after repeated failures; the next try goes at ${new Date(until).toISOString()}`,
  };
}

export const reject = (
  status: "rejected" | "expired" | "undeliverable",
  code: ErrorInfo["code"],
  message: string,
): Tried => ({ kind: "reject", status, error: { code, message } });

export const retry = (error: ErrorInfo, endpoint: string, retryAfterMs?: number): Tried => ({
  kind: "retry",
  error,
  endpoint,
  retryAfterMs,
});
