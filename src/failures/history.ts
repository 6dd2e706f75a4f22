import type { RedisClient } from "../redis/client.js";
import type { Pipeline } from "../config/pipeline.js";
import { categoryOf, severityOf, toErrorInfo, type ErrorInfo } from "../protocol/errors.js";
import type { Keys } from "../redis/keys.js";
import type { Logger } from "../telemetry/log.js";
import type { Escalator } from "./escalate.js";

/** One error, as the history keeps it. */
export interface ErrorEvent {
  error: ErrorInfo;
  /** The stage it happened in, or `front` for the front end. */
  stage: string;
  /** The agent it concerns: the recipient of a failed delivery, else the sender. */
  agent?: string | undefined;
  /** A webhook endpoint: origin and path (never the query string, see `endpointOf`). */
  endpoint?: string | undefined;
  messageId?: string | undefined;
}

/** Field names of the error history's entries. */
export const ErrorField = {
  code: "code",
  category: "cat",
  severity: "sev",
  stage: "stage",
  agent: "agent",
  endpoint: "endpoint",
  messageId: "mid",
  message: "msg",
} as const;

/** Writes are gathered for this long, then sent in one round trip. */
const FLUSH_MS = 100;
const MAX_MESSAGE = 300;

/**
 * The error history: every error, in a capped stream (`errors.history.maxLen`), the
 * statistics of `switchboard errors` are read from; and the error-rate threshold, counted
 * per window, which raises an alert when crossed. Recording never waits on Redis and never
 * throws: errors are gathered and written in batches off the path of the work.
 */
export class ErrorHistory {
  readonly #redis: RedisClient;
  readonly #keys: Keys;
  readonly #pipeline: Pipeline;
  readonly #escalator: Escalator;
  readonly #log: Logger;
  #pending: ErrorEvent[] = [];
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(
    redis: RedisClient,
    keys: Keys,
    pipeline: Pipeline,
    escalator: Escalator,
    log: Logger,
  ) {
    this.#redis = redis;
    this.#keys = keys;
    this.#pipeline = pipeline;
    this.#escalator = escalator;
    this.#log = log;
  }

  record(event: ErrorEvent): void {
    this.#pending.push(event);
    this.#timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** Writes what was gathered; resolves when written (for shutdown and tests). */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const events = this.#pending;
    this.#pending = [];
    this.#flushing = this.#flushing.then(() => this.#write(events));
    return this.#flushing;
  }

  async #write(events: ErrorEvent[]): Promise<void> {
    if (events.length === 0) return;
    const { maxLen } = this.#pipeline.errors.history;
    const { threshold, windowMs } = this.#pipeline.errors.escalation.errorRate;
    const window = Math.floor(Date.now() / windowMs);
    const batch = this.#redis.pipeline();
    for (const event of events) {
      batch.xadd(this.#keys.errors(), "MAXLEN", "~", maxLen, "*", ...fieldsOf(event));
    }
    batch.incrby(this.#keys.errorRate(window), events.length);
    batch.pexpire(this.#keys.errorRate(window), 2 * windowMs);
    try {
      const replies = (await batch.exec()) ?? [];
      const after = Number(replies[events.length]?.[1] ?? 0);
      if (after >= threshold && after - events.length < threshold) {
        await this.#escalator.raise({
          kind: "error_rate",
          errors: after,
          threshold,
          window_ms: windowMs,
        });
      }
    } catch (error) {
      this.#log.warn("could not write the error history", {
        count: events.length,
        error: toErrorInfo(error),
      });
    }
  }
}

function fieldsOf(event: ErrorEvent): string[] {
  const { error } = event;
  const fields = [
    ErrorField.code,
    error.code,
    ErrorField.category,
    categoryOf(error.code),
    ErrorField.severity,
    severityOf(error.code),
    ErrorField.stage,
    event.stage,
    ErrorField.message,
    error.message.slice(0, MAX_MESSAGE),
  ];
  if (event.agent !== undefined) fields.push(ErrorField.agent, event.agent);
  if (event.endpoint !== undefined) fields.push(ErrorField.endpoint, event.endpoint);
  if (event.messageId !== undefined) fields.push(ErrorField.messageId, event.messageId);
  return fields;
}
