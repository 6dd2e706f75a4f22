import { UnrecoverableError, type Job, type Processor } from "bullmq";
import type { Pipeline, StageDefinition } from "../config/pipeline.js";
import { toErrorInfo, type ErrorInfo } from "../protocol/errors.js";
import type { Committer } from "../pipeline/commit.js";
import { carry, Field, type Output, type StreamEntry } from "../streams/entry.js";
import type { Attempt, Outcome } from "../pipeline/stage.js";
import type { FailureSink } from "../pipeline/ports.js";
import type { RetryState } from "../history/record.js";
import type { Logger } from "../telemetry/log.js";
import { metrics } from "../telemetry/metrics.js";
import { backoffDelay, policyFor, RetryLater, strategyFor } from "./policy.js";
import { traceAttempt } from "./tracing.js";

/** A stage entry waiting in a BullMQ queue to be tried (again). */
export interface EntryJob {
  /** The entry's id in its stage stream. */
  id: string;
  /** Its fields, values base64 (they are bytes). */
  fields: [string, string][];
  /** Attempts made before the job's first run (1 when the stage tried it already). */
  tried: number;
  /** The failed attempts so far. */
  attempts: Attempt[];
}

export function toJob(entry: StreamEntry, tried: number, attempts: Attempt[] = []): EntryJob {
  const fields = [...entry.fields].map(([name, value]): [string, string] => [
    name,
    value.toString("base64"),
  ]);
  return { id: entry.id, fields, tried, attempts };
}

export function entryOf(job: EntryJob): StreamEntry {
  return {
    id: job.id,
    fields: new Map(job.fields.map(([name, value]) => [name, Buffer.from(value, "base64")])),
  };
}

/**
 * A `retrying` status for persist, for the recipient of a deliver entry or for the message;
 * none for entries without a message id, nor for persist's own entries.
 */
export function retryingStatus(
  entry: StreamEntry,
  stage: string,
  error: ErrorInfo,
  state: RetryState,
): Output[] {
  if (stage === "persist" || !entry.fields.has(Field.messageId)) return [];
  return [
    {
      to: "persist",
      fields: [
        Field.kind,
        "status",
        Field.status,
        "retrying",
        Field.error,
        JSON.stringify(error),
        Field.stage,
        stage,
        Field.retry,
        JSON.stringify(state),
        ...carry(entry, [Field.messageId, Field.recipient]),
      ],
    },
  ];
}

/** What one try of a job came to: an outcome; for a webhook, its endpoint and `Retry-After`. */
export type Tried = Outcome & { retryAfterMs?: number | undefined; endpoint?: string | undefined };

export interface EntryJobsOptions {
  pipeline: Pipeline;
  stage: StageDefinition;
  committer: Committer;
  log: Logger;
  failures: FailureSink;
}

/**
 * The processor of a queue of stage entries: tries an entry once; a success commits what
 * it produced; a failure is retried by the policy of its category (BullMQ waits, with the
 * delay computed here so that `get_message` can tell when), or, once the attempts are
 * spent or the error cannot be retried, dead-lettered with its attempt history (the
 * sender is told by persist) and the job fails for good.
 */
export function entryProcessor(
  options: EntryJobsOptions,
  span: { name: string; destination: string },
  tryOnce: (entry: StreamEntry, job: Job<EntryJob>, token: string | undefined) => Promise<Tried>,
): Processor<EntryJob> {
  const { pipeline, stage, committer, failures } = options;
  return async (job, token) => {
    const entry = entryOf(job.data);
    const trace = traceAttempt(
      span.name,
      span.destination,
      entry,
      job.data.tried + job.attemptsMade + 1,
    );
    let tried: Tried;
    try {
      tried = trace.end(await tryOnce(entry, job, token));
    } catch (error) {
      if (error instanceof Error && error.name === "DelayedError") {
        trace.end({ kind: "retry", error: { code: "BREAKER_OPEN", message: error.message } });
        throw error;
      }
      tried = trace.end({ kind: "retry", error: toErrorInfo(error) });
    }
    if (tried.kind !== "retry") {
      if (tried.kind === "reject" && strategyFor(pipeline, tried.error) === "dead_letter") {
        tried = { kind: "dead_letter", error: tried.error };
      }
      if (tried.kind === "dead_letter") failures.deadLettered(stage.name, entry, tried.error);
      await committer.append(entry, tried);
      if (tried.kind === "reject" || tried.kind === "dead_letter") {
        throw new UnrecoverableError(`${tried.error.code}: ${tried.error.message}`);
      }
      return;
    }
    const { error } = tried;
    const attempt = job.data.tried + job.attemptsMade + 1;
    const attempts = [
      ...job.data.attempts,
      { at: new Date().toISOString(), code: error.code, message: error.message },
    ];
    failures.failed(stage.name, entry, error, tried.endpoint);
    const strategy = strategyFor(pipeline, error);
    const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (strategy !== "retry" || last) {
      const settled: Outcome =
        strategy === "drop"
          ? { kind: "reject", status: "undeliverable", error }
          : { kind: "dead_letter", error, deliveries: attempt, attempts };
      if (settled.kind === "dead_letter") failures.deadLettered(stage.name, entry, error);
      await committer.append(entry, settled);
      throw new UnrecoverableError(`${error.code}: ${error.message}`);
    }
    const policy = policyFor(pipeline, error);
    const delayMs = backoffDelay(policy, attempt, tried.retryAfterMs);
    // Independent writes, sent together: the attempt history and the `retrying` status.
    await Promise.all([
      job.updateData({ ...job.data, attempts }),
      committer.append(entry, {
        kind: "forward",
        outputs: retryingStatus(entry, stage.name, error, {
          attempt: attempt + 1,
          max_attempts: job.data.tried + (job.opts.attempts ?? 1),
          next_at: new Date(Date.now() + delayMs).toISOString(),
        }),
      }),
    ]);
    metrics.retries.inc({ stage: stage.name, attempt: attempt + 1 });
    throw new RetryLater(error, delayMs);
  };
}
