import type { RedisClient } from "../redis/client.js";
import type { Pipeline, StageDefinition } from "../config/pipeline.js";
import type { ErrorInfo } from "../protocol/errors.js";
import type { FailureStatus } from "../protocol/status.js";
import type { Keys } from "../redis/keys.js";
import type { Logger } from "../telemetry/log.js";
import type { Output, StreamEntry } from "../streams/entry.js";

/** What a handler decided for one entry. */
export type Outcome =
  /** Acknowledge and append these entries to later streams (several for fan-out). */
  | { kind: "forward"; outputs: Output[] }
  /** Acknowledge; nothing follows. */
  | { kind: "done" }
  /** Acknowledge and record a terminal failure of the message (or of one recipient). */
  | { kind: "reject"; status: FailureStatus; error: ErrorInfo }
  /**
   * It failed, and trying again later may succeed. The policy table decides: a BullMQ retry
   * with backoff, a dead letter, or a failure the sender is told of. Where no retry can be
   * scheduled (Redis trouble), it stays pending and is handed out again after `claimIdleMs`.
   */
  | {
      kind: "retry";
      error: ErrorInfo;
      /**
       * Set once the retry is scheduled (a BullMQ job): the entry is acknowledged and these
       * (its `retrying` status) appended. Unset, the entry stays pending.
       */
      scheduled?: Output[];
    }
  /** Acknowledge and move it to the dead letters (persist records it; the sender is told). */
  | {
      kind: "dead_letter";
      error: ErrorInfo;
      /** How often it was handed out or tried (1 unless known). */
      deliveries?: number;
      attempts?: readonly Attempt[];
    };

/** One failed attempt at handling an entry, for a dead letter's history. */
export interface Attempt {
  /** When it failed, ISO 8601. */
  at: string;
  code: string;
  message: string;
}

export const DONE: Outcome = Object.freeze({ kind: "done" });

/**
 * A stage's logic. It gets a whole batch so that it can send its Redis work in one batch, and
 * returns one outcome per entry, in order. Handlers must be idempotent: an entry may be
 * handed out again after a crash.
 */
export interface StageHandler {
  handle(entries: readonly StreamEntry[]): Promise<Outcome[]>;
}

export interface StageContext {
  /** The process's shared command connection (never blocked). */
  redis: RedisClient;
  keys: Keys;
  pipeline: Pipeline;
  stage: StageDefinition;
  log: Logger;
  now: () => number;
  /** Where deliver hands messages for recipients with a webhook. */
  webhooks: WebhookPushes;
}

/**
 * Push delivery as a stage sees it (wired in `src/app/`): each entry's first try is made
 * in this call; what does not succeed is handed to the webhook queue (BullMQ) to be tried
 * again. Returns one outcome per entry, in order; never throws.
 */
export interface WebhookPushes {
  push(entries: readonly StreamEntry[]): Promise<Outcome[]>;
}

export type StageFactory = (context: StageContext) => StageHandler;
