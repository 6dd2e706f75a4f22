import type { StageDefinition } from "../config/pipeline.js";
import type { ErrorInfo } from "../protocol/errors.js";
import type { Logger } from "../telemetry/log.js";
import type { StreamEntry } from "../streams/entry.js";
import type { Committer } from "./commit.js";
import type { Outcome, StageHandler } from "./stage.js";

/**
 * What the runner, the janitor and the retry jobs need of failure reporting (`src/failures/`
 * implements it). Declared here, passed in by the composition root, so the runner depends
 * on no layer above its own. Neither call waits on Redis nor throws.
 */
export interface FailureSink {
  /** One failed attempt at an entry (a webhook's too, with its endpoint). */
  failed(stage: string, entry: StreamEntry, error: ErrorInfo, endpoint?: string): void;
  /** An entry moved to the dead letters. */
  deadLettered(stage: string, entry: StreamEntry, error: ErrorInfo): void;
}

/** What the runner needs of the retry path (`src/retry/` implements it). */
export interface RetryResolver {
  /**
   * The outcomes of a batch as the policy table has them: retries scheduled (then
   * acknowledged), dead letters and dropped messages decided; one outcome per entry, in order.
   */
  resolve(entries: readonly StreamEntry[], outcomes: Outcome[]): Promise<Outcome[]>;
  /** Works the stage's retry queue in this process. */
  start(): void;
}

/** The parts of a runner that its retry path shares. */
export interface RetryParts {
  stage: StageDefinition;
  handler: StageHandler;
  committer: Committer;
  log: Logger;
}

/** Makes a stage's retry path once the runner has built its handler and committer. */
export type RetryResolverFactory = (parts: RetryParts) => RetryResolver;
