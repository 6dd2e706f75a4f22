import { DelayedError, UnrecoverableError, type Job, type Processor } from "bullmq";
import { z } from "zod";
import type { Pipeline, StageDefinition } from "../config/pipeline.js";
import { toErrorInfo, type ErrorInfo } from "../protocol/errors.js";
import { describeIssues, firstIssuePath } from "../protocol/issues.js";
import { streamIdSchema } from "../protocol/stream-id.js";
import type { Committer } from "../pipeline/commit.js";
import { carry, Field, type Output, type StreamEntry } from "../streams/entry.js";
import type { Attempt, Outcome } from "../pipeline/stage.js";
import type { FailureSink } from "../pipeline/ports.js";
import { backoffDelay, decideFailure } from "../pipeline/failure-decision.js";
import type { RetryState } from "../history/record.js";
import type { Logger } from "../telemetry/log.js";
import { metrics } from "../telemetry/metrics.js";
import { RetryLater } from "./queues.js";
import { traceAttempt } from "./tracing.js";

/**
 * A stage entry waiting in a BullMQ queue to be tried (again). Parsed where a job starts:
 * a job is data from Redis, written by this or another version.
 */
const EntryJobSchema = z.object({
  id: streamIdSchema("the entry's id in its stage stream"),
  /** Its fields, values base64 (they are bytes). */
  fields: z.array(z.tuple([z.string(), z.base64()])),
  /** Attempts made before the job's first run (1 when the stage tried it already). */
  tried: z.int().nonnegative(),
  /** The failed attempts so far. */
  attempts: z.array(z.object({ at: z.string(), code: z.string(), message: z.string() })),
});

export type EntryJob = z.infer<typeof EntryJobSchema>;

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

/** Which try of a job this is: number `attempt` (from 1) of the `of` allowed. */
export interface JobTry {
  attempt: number;
  of: number;
}

export interface EntryJobsOptions {
  pipeline: Pipeline;
  stage: StageDefinition;
  committer: Committer;
  log: Logger;
  failures: FailureSink;
}

/**
 * The processor of a queue of stage entries: tries an entry once; a success commits what
 * it produced; a failure is what the failure decision makes it: a retry (BullMQ waits, with
 * the delay decided here so that `get_message` can tell when), or a dead letter with its
 * attempt history or a drop (the sender is told by persist), and the job fails for good.
 */
export function entryProcessor(
  options: EntryJobsOptions,
  span: { name: string; destination: string },
  tryOnce: (
    entry: StreamEntry,
    thisTry: JobTry,
    job: Job<unknown>,
    token: string | undefined,
  ) => Promise<Tried>,
): Processor<unknown> {
  const { pipeline, stage, committer, failures } = options;
  return async (job, token) => {
    const data = parseJob(job, options.log);
    const entry = entryOf(data);
    const thisTry = {
      attempt: data.tried + job.attemptsMade + 1,
      of: data.tried + (job.opts.attempts ?? 1),
    };
    const trace = traceAttempt(span.name, span.destination, entry, thisTry.attempt);
    let tried: Tried;
    try {
      tried = trace.end(await tryOnce(entry, thisTry, job, token));
    } catch (error) {
      if (error instanceof Error && error.name === "DelayedError") {
        trace.end({ kind: "retry", error: { code: "BREAKER_OPEN", message: error.message } });
        throw error;
      }
      tried = trace.end({ kind: "retry", error: toErrorInfo(error) });
    }
    if (tried.kind !== "retry" && tried.kind !== "reject") {
      // Alert first, as the runner does: a job put off by settle() and run again raises no
      // second alert (one per stage and code per window), though it counts twice.
      if (tried.kind === "dead_letter") failures.deadLettered(stage.name, entry, tried.error);
      await settle(options, job, token, entry, tried);
      if (tried.kind === "dead_letter") throw unrecoverable(tried.error);
      return;
    }
    const { error } = tried;
    if (tried.kind === "retry") failures.failed(stage.name, entry, error, tried.endpoint);
    const decision = decideFailure(
      pipeline,
      stage,
      tried.kind === "reject"
        ? tried
        : {
            ...thisTry,
            kind: "retry",
            error,
            retryAfterMs: tried.retryAfterMs,
            random: Math.random,
          },
    );
    const attempts = [
      ...data.attempts,
      { at: new Date().toISOString(), code: error.code, message: error.message },
    ];
    if (decision.kind !== "retry") {
      // A reject's dead letter has no attempt history: the handler judged the message, not a try.
      const settled: Outcome =
        decision.kind === "dead_letter" && tried.kind === "retry"
          ? { ...decision, deliveries: thisTry.attempt, attempts }
          : decision;
      if (settled.kind === "dead_letter") failures.deadLettered(stage.name, entry, error);
      await settle(options, job, token, entry, settled);
      throw unrecoverable(error);
    }
    // Independent writes, sent together: the attempt history and the `retrying` status.
    await Promise.all([
      job.updateData({ ...data, attempts }),
      committer.append(entry, {
        kind: "forward",
        outputs: retryingStatus(entry, stage.name, error, {
          attempt: decision.attempt,
          max_attempts: decision.of,
          next_at: new Date(Date.now() + decision.delayMs).toISOString(),
        }),
      }),
    ]);
    metrics.retries.inc({ stage: stage.name, attempt: decision.attempt });
    throw new RetryLater(error, decision.delayMs);
  };
}

/** How long a job whose outcome could not be written waits to run again: short, growing. */
const SETTLE_BACKOFF = { delayMs: 500, maxDelayMs: 10_000, jitter: 0.5 };

/**
 * Writes what a job's try came to. A write that fails (the command connection fails fast
 * while Redis is away) must not cost an attempt: on the last one BullMQ would fail the job
 * for good, and its entry, acknowledged in its stream when the retry was scheduled, would
 * be in no stream and no dead letter. So the job is put off instead, on the worker's
 * connection (which waits for Redis), and tried again from its data, its attempts
 * unchanged; it finds the work done where the stage's handlers are idempotent.
 */
async function settle(
  options: EntryJobsOptions,
  job: Job<unknown>,
  token: string | undefined,
  entry: StreamEntry,
  outcome: Exclude<Outcome, { kind: "retry" }>,
): Promise<void> {
  try {
    await options.committer.append(entry, outcome);
  } catch (error) {
    // Every start that did not count as an attempt (a put-off write, an open breaker).
    const putOff = job.attemptsStarted - job.attemptsMade;
    const delayMs = backoffDelay(SETTLE_BACKOFF, putOff);
    options.log.warn("could not write a job's outcome; the job runs again later", {
      queue: job.queueName,
      job: job.id,
      stage: options.stage.name,
      outcome: outcome.kind,
      delay_ms: delayMs,
      error: toErrorInfo(error),
    });
    await job.moveToDelayed(Date.now() + delayMs, token);
    throw new DelayedError();
  }
}

const unrecoverable = (error: ErrorInfo): UnrecoverableError =>
  new UnrecoverableError(`${error.code}: ${error.message}`);

/**
 * A job's payload, checked: a malformed one (written by another version, or by hand) fails
 * its job for good with a message naming the field, kept with the failed jobs.
 */
function parseJob(job: Job<unknown>, log: Logger): EntryJob {
  const parsed = EntryJobSchema.safeParse(job.data);
  if (parsed.success) return parsed.data;
  const field = firstIssuePath(parsed.error);
  const message = `job ${job.id ?? "?"} of queue ${job.queueName} has a malformed payload: ${describeIssues(parsed.error)}`;
  log.warn("malformed job", {
    queue: job.queueName,
    job: job.id,
    error: { code: "MALFORMED_ENTRY", message, field },
  });
  throw new UnrecoverableError(`MALFORMED_ENTRY: ${message}`);
}
