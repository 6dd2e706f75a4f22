import { text, Field, type StreamEntry } from "../streams/entry.js";
import { categoryOf, type ErrorInfo } from "../protocol/errors.js";
import { metrics } from "../telemetry/metrics.js";
import type { RedisClient } from "../redis/client.js";
import type { Pipeline } from "../config/pipeline.js";
import type { Keys } from "../redis/keys.js";
import type { Logger } from "../telemetry/log.js";
import { Escalator } from "./escalate.js";
import { ErrorHistory } from "./history.js";

/**
 * Where the pipeline reports failures: every failed attempt goes to the error history;
 * every dead letter also raises an alert. Neither waits on Redis nor throws.
 */
export class Failures {
  readonly history: ErrorHistory;
  readonly #escalator: Escalator;

  constructor(redis: RedisClient, keys: Keys, pipeline: Pipeline, log: Logger) {
    this.#escalator = new Escalator(redis, keys, pipeline, log);
    this.history = new ErrorHistory(redis, keys, pipeline, this.#escalator, log);
  }

  failed(stage: string, entry: StreamEntry, error: ErrorInfo, endpoint?: string): void {
    metrics.errors.inc({ category: categoryOf(error.code), code: error.code, stage });
    this.history.record({
      error,
      stage,
      agent: text(entry, Field.recipient) ?? text(entry, Field.from),
      endpoint,
      messageId: text(entry, Field.messageId),
    });
  }

  deadLettered(stage: string, entry: StreamEntry, error: ErrorInfo): void {
    metrics.deadLettersTotal.inc({ stage, code: error.code });
    void this.#escalator.raise({
      kind: "dead_letter",
      stage,
      error,
      message_id: text(entry, Field.messageId),
      recipient: text(entry, Field.recipient),
    });
  }
}
