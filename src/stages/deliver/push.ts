import { sendCommands } from "../../redis/batch.js";
import { performance } from "node:perf_hooks";
import { DelayedError } from "bullmq";
import type { RedisClient } from "../../redis/client.js";
import { decodeStored, readStoredEnvelopes } from "../../history/record.js";
import { SwitchboardError, type ErrorInfo } from "../../protocol/errors.js";
import { Field, text, type Output, type StreamEntry } from "../../streams/entry.js";
import { DONE } from "../../pipeline/stage.js";
import { AgentField as A } from "../../redis/agent-fields.js";
import type { Keys } from "../../redis/keys.js";
import { metrics, type WebhookResult } from "../../telemetry/metrics.js";
import { recordDelivered } from "../../telemetry/record.js";
import {
  entryProcessor,
  retryingStatus,
  type EntryJobsOptions,
  type JobTry,
  type Tried,
} from "../../retry/jobs.js";
import { WEBHOOK_QUEUE, type Queues } from "../../retry/queues.js";
import { Breakers } from "../../webhook/breaker.js";
import { endpointOf } from "../../webhook/endpoint.js";
import { postWebhook, type WebhookResult as PostResult } from "../../webhook/post.js";

/** What the delivery marker holds for a message pushed to a webhook (else an inbox entry id). */
export const PUSHED = "webhook";

export interface PusherOptions extends EntryJobsOptions {
  redis: RedisClient;
  keys: Keys;
  queues: Queues;
}

/** What one try at a push came to: an outcome, or no try because the breaker holds it back. */
export type Pushed = Tried | Held;

/** The endpoint's breaker is open, or its probe is out: no try made; the next at `until`. */
export interface Held {
  kind: "held";
  endpoint: string;
  breaker: "open" | "half_open";
  until: number;
}

/**
 * Pushes messages to webhooks. {@link Pusher.attempt} is one try, the same for a message's
 * first try (made by deliver itself, see `first-try.ts`) and for every retry (a job of the
 * webhook queue of a process that runs deliver, worked here): it reads the recipient's
 * current webhook (fixed endpoints are used at once), asks the endpoint's circuit breaker
 * (one per webhook URL, see `endpointOf`), POSTs the signed envelope and records the
 * result; failures are retried by the `delivery` policy and dead-lettered when it is spent.
 */
export class Pusher {
  readonly #o: PusherOptions;
  readonly #breakers: Breakers;

  constructor(options: PusherOptions) {
    this.#o = options;
    this.#breakers = new Breakers(options.redis, options.keys, options.pipeline);
  }

  start(): void {
    const span = { name: "send webhook", destination: "webhook" };
    const processor = entryProcessor(this.#o, span, (entry, thisTry, job, token) =>
      this.#retry(entry, thisTry, (until) => job.moveToDelayed(until, token)),
    );
    this.#o.queues.work(WEBHOOK_QUEUE, processor, this.#o.pipeline.webhooks.concurrency);
  }

  /** A job's try; one held back by the breaker waits for it, which is not an attempt. */
  async #retry(
    entry: StreamEntry,
    thisTry: JobTry,
    delayUntil: (at: number) => Promise<void>,
  ): Promise<Tried> {
    const pushed = await this.attempt(entry, thisTry);
    if (pushed.kind !== "held") return pushed;
    await this.#o.committer.append(entry, {
      kind: "forward",
      outputs: heldStatus(entry, thisTry, pushed),
    });
    await delayUntil(pushed.until);
    throw new DelayedError(); // waiting for the breaker is not an attempt
  }

  /**
   * One try at pushing an entry. `budget`, for a first try: when it fires, the POST is
   * abandoned as a timeout that the breaker does not count (the endpoint may be slow, not
   * failing); the caller hands the message to a job.
   */
  async attempt(entry: StreamEntry, thisTry: JobTry, budget?: AbortSignal): Promise<Pushed> {
    const { redis, keys, pipeline } = this.#o;
    const messageId = text(entry, Field.messageId);
    const recipient = text(entry, Field.recipient);
    if (messageId === undefined || recipient === undefined) {
      return reject("rejected", "MALFORMED_ENTRY", "push entry lacks a message id or recipient");
    }
    const expiresAt = Number(text(entry, Field.expiresAt) ?? Infinity);
    if (expiresAt <= Date.now()) {
      return reject(
        "expired",
        "EXPIRED",
        `message expired at ${new Date(expiresAt).toISOString()} before ${recipient}'s webhook took it`,
      );
    }
    const [[, marker], [, agent]] = (await sendCommands(redis, (batch) =>
      batch
        .get(keys.delivered(recipient, messageId))
        .hmget(keys.agent(recipient), A.name, A.webhookUrl, A.webhookSecret),
    )) as [[null, string | null], [null, [string | null, string | null, string | null]]];
    // Pushed before, and maybe not recorded: a job whose write failed runs again. Say it
    // again, as deliver does for an inbox marker (the status is one field per recipient).
    if (marker === PUSHED)
      return { kind: "forward", outputs: [pushedStatus(messageId, recipient)] };
    if (marker !== null) return DONE;
    const [name, url, secret] = agent;
    if (name === null) {
      return reject(
        "undeliverable",
        "NO_RECIPIENT",
        `agent '${recipient}' was unregistered before delivery`,
      );
    }
    if (url === null || secret === null) {
      // The agent turned to pull delivery: deliver puts it in the inbox.
      return { kind: "forward", outputs: [{ to: "deliver", fields: originalFields(entry) }] };
    }
    const endpoint = endpointOf(url);
    const permit = await this.#breakers.acquire(endpoint);
    if (!permit.go) {
      metrics.webhookRequests.inc({ result: "breaker_open" });
      // While a probe is out, look again soon rather than at the end of its lease: a probe
      // that succeeds closes the breaker in milliseconds.
      const due =
        permit.state === "half_open" ? Math.min(permit.until, Date.now() + 1000) : permit.until;
      return {
        kind: "held",
        endpoint: endpoint.label,
        breaker: permit.state === "half_open" ? "half_open" : "open",
        until: due + Math.floor(Math.random() * 250),
      };
    }
    const body = await this.#body(entry, messageId);
    const started = performance.now();
    const result = await postWebhook({
      url,
      secret,
      body,
      messageId,
      attempt: thisTry.attempt,
      traceparent: text(entry, Field.traceparent),
      timeoutMs: pipeline.webhooks.timeoutMs,
      allowPrivateNetworks: pipeline.webhooks.allowPrivateNetworks,
      signal: budget,
    });
    metrics.webhookRequestDuration.observe({}, (performance.now() - started) / 1000);
    metrics.webhookRequests.inc({ result: resultLabel(result) });
    // A refusal by the receiver, or by us before connecting, says nothing of its health;
    // nor does a first try abandoned at its budget.
    const endpointFailed = !result.ok && !NOT_ENDPOINT_FAILURES.has(result.error.code);
    const abandoned = !result.ok && budget?.aborted === true;
    if (!abandoned) await this.#breakers.record(endpoint, !endpointFailed);
    if (!result.ok) return retry(result.error, endpoint.label, result.retryAfterMs);
    await redis.set(
      keys.delivered(recipient, messageId),
      PUSHED,
      "PX",
      pipeline.dedupe.deliveryWindowMs,
    );
    recordDelivered("webhook", messageId);
    return { kind: "forward", outputs: [pushedStatus(messageId, recipient)] };
  }

  /** The envelope as JSON: carried in the entry, or from the message record. */
  async #body(entry: StreamEntry, messageId: string): Promise<string> {
    const { redis, keys, pipeline } = this.#o;
    const [stored] = await readStoredEnvelopes(redis, keys, [messageId]);
    if (stored === undefined) {
      throw new SwitchboardError(
        "MALFORMED_ENTRY",
        `message ${messageId} has no record to push (expired from history?)`,
        {
          field: "mid",
        },
      );
    }
    return JSON.stringify(decodeStored(stored, pipeline.limits));
  }
}

const RESULT_LABELS: Partial<Record<ErrorInfo["code"], WebhookResult>> = {
  WEBHOOK_THROTTLED: "throttled",
  WEBHOOK_SERVER_ERROR: "server_error",
  WEBHOOK_TIMEOUT: "timeout",
  WEBHOOK_UNREACHABLE: "unreachable",
  WEBHOOK_REJECTED: "client_error",
  WEBHOOK_FORBIDDEN: "forbidden",
};

const NOT_ENDPOINT_FAILURES: ReadonlySet<ErrorInfo["code"]> = new Set([
  "WEBHOOK_REJECTED",
  "WEBHOOK_FORBIDDEN",
]);

function resultLabel(result: PostResult): WebhookResult {
  return result.ok ? "ok" : (RESULT_LABELS[result.error.code] ?? "unreachable");
}

/** The `delivered` status of a message pushed to its recipient's webhook. */
export function pushedStatus(messageId: string, recipient: string): Output {
  return {
    to: "persist",
    fields: [
      Field.kind,
      "status",
      Field.messageId,
      messageId,
      Field.recipient,
      recipient,
      Field.status,
      "delivered",
      Field.via,
      "webhook",
    ],
  };
}

/** The entry's own fields (a push job's entry is a deliver entry). */
function originalFields(entry: StreamEntry): (string | Buffer)[] {
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

const reject = (
  status: "rejected" | "expired" | "undeliverable",
  code: ErrorInfo["code"],
  message: string,
): Tried => ({ kind: "reject", status, error: { code, message } });

const retry = (error: ErrorInfo, endpoint: string, retryAfterMs?: number): Tried => ({
  kind: "retry",
  error,
  endpoint,
  retryAfterMs,
});
