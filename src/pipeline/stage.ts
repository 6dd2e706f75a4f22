import type { Redis } from "ioredis";
import type { Pipeline, StageDefinition } from "../config/pipeline.js";
import type { ErrorInfo } from "../protocol/errors.js";
import type { FailureStatus } from "../protocol/status.js";
import type { Keys } from "../redis/keys.js";
import type { Logger } from "../telemetry/log.js";
import type { Output, StreamEntry } from "./entry.js";

/** What a handler decided for one entry. */
export type Outcome =
  /** Acknowledge and append these entries to later streams (several for fan-out). */
  | { kind: "forward"; outputs: Output[] }
  /** Acknowledge; nothing follows. */
  | { kind: "done" }
  /** Acknowledge and record a terminal failure of the message (or of one recipient). */
  | { kind: "reject"; status: FailureStatus; error: ErrorInfo }
  /** Leave it pending: it is handed out again after `claimIdleMs`, up to `maxDeliveries`. */
  | { kind: "retry"; error: ErrorInfo };

export const DONE: Outcome = Object.freeze({ kind: "done" });

/**
 * A stage's logic. It gets a whole batch so that it can pipeline its Redis work, and
 * returns one outcome per entry, in order. Handlers must be idempotent: an entry may be
 * handed out again after a crash.
 */
export interface StageHandler {
  handle(entries: readonly StreamEntry[]): Promise<Outcome[]>;
}

export interface StageContext {
  /** The process's shared command connection (never blocked). */
  redis: Redis;
  keys: Keys;
  pipeline: Pipeline;
  stage: StageDefinition;
  log: Logger;
  now: () => number;
}

export type StageFactory = (context: StageContext) => StageHandler;
