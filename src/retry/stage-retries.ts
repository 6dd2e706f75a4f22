import type { Pipeline, StageDefinition } from "../config/pipeline.js";
import { decideFailure, type Decision } from "../pipeline/failure-decision.js";
import { toErrorInfo, type ErrorInfo } from "../protocol/errors.js";
import { Field, type StreamEntry } from "../streams/entry.js";
import type { RetryResolver } from "../pipeline/ports.js";
import type { Attempt, Outcome, StageHandler } from "../pipeline/stage.js";
import { entryProcessor, retryingStatus, toJob, type EntryJobsOptions } from "./jobs.js";
import { metrics } from "../telemetry/metrics.js";
import { jobOptions, retryQueueOf, type Queues } from "./queues.js";

export interface StageRetriesOptions extends EntryJobsOptions {
  queues: Queues;
  handler: StageHandler;
}

/**
 * The policy table applied to one stage's outcomes, and the stage's retry queue: a failure
 * that may succeed later becomes a BullMQ job (delayed by the backoff), acknowledged in the
 * stream at once; the job runs the stage's handler on the entry again until it succeeds or
 * its policy's attempts are spent.
 */
export class StageRetries implements RetryResolver {
  readonly #o: StageRetriesOptions;
  readonly #queue: string;

  constructor(options: StageRetriesOptions) {
    this.#o = options;
    this.#queue = retryQueueOf(options.stage.name);
  }

  /** Works the stage's retry queue in this process. */
  start(): void {
    const { handler } = this.#o;
    const { name, stream } = this.#o.stage;
    const span = { name: `retry ${name}`, destination: stream };
    const processor = entryProcessor(this.#o, span, async (entry) => {
      const [outcome] = await handler.handle([entry]);
      return outcome ?? { kind: "retry", error: { code: "INTERNAL", message: "no outcome" } };
    });
    this.#o.queues.work(this.#queue, processor, this.#o.stage.concurrency);
  }

  /**
   * Asks the failure decision about each failure: a retry is scheduled (the entry is then
   * acknowledged), a dead letter or a dropped message is committed as such. A retry that
   * cannot be scheduled (Redis trouble) stays pending, to be handed out again.
   */
  async resolve(entries: readonly StreamEntry[], outcomes: Outcome[]): Promise<Outcome[]> {
    const { pipeline, stage, failures } = this.#o;
    const now = Date.now();
    const decided = outcomes.map((o) => decide(pipeline, stage, o, now));
    const resolved = decided.map((d) => d.outcome);
    for (const [i, o] of resolved.entries()) {
      if (o.kind === "retry" || o.kind === "reject" || o.kind === "dead_letter") {
        failures.failed(stage.name, entries[i]!, o.error);
      }
      if (o.kind === "dead_letter") failures.deadLettered(stage.name, entries[i]!, o.error);
    }
    const scheduled = decided.flatMap(({ outcome, retry }, i) =>
      retry === undefined || outcome.kind !== "retry"
        ? []
        : [{ i, entry: entries[i]!, error: outcome.error, retry }],
    );
    if (scheduled.length === 0) return resolved;
    const jobs = scheduled.map(({ entry, error, retry }) => ({
      name: stage.name,
      data: toJob(entry, retry.attempt - 1, [attemptOf(error, now)]),
      opts: {
        ...jobOptions(retry.of - retry.attempt + 1, `${stage.name}-${entry.id}`),
        delay: retry.delayMs,
      },
      state: {
        attempt: retry.attempt,
        max_attempts: retry.of,
        next_at: new Date(now + retry.delayMs).toISOString(),
      },
      traceparent: entry.fields.get(Field.traceparent),
    }));
    try {
      await this.#o.queues.addEach(this.#queue, jobs);
    } catch (error) {
      this.#o.log.warn("could not schedule retries; the entries stay pending", {
        stage: stage.name,
        count: jobs.length,
        error: toErrorInfo(error),
      });
      return resolved;
    }
    scheduled.forEach(({ i, entry, error, retry }, k) => {
      resolved[i] = {
        kind: "retry",
        error,
        scheduled: retryingStatus(entry, stage.name, error, jobs[k]!.state),
      };
      metrics.retries.inc({ stage: stage.name, attempt: retry.attempt });
    });
    return resolved;
  }
}

/**
 * An outcome as the failure decision has it, with the retry to schedule; the stage's try
 * was the first.
 */
function decide(
  pipeline: Pipeline,
  stage: StageDefinition,
  outcome: Outcome,
  now: number,
): { outcome: Outcome; retry?: Extract<Decision, { kind: "retry" }> } {
  if (outcome.kind !== "retry" && outcome.kind !== "reject") return { outcome };
  const { error } = outcome;
  const decision = decideFailure(
    pipeline,
    stage,
    outcome.kind === "reject" ? outcome : { kind: "retry", error, attempt: 1, random: Math.random },
  );
  if (decision.kind === "retry") return { outcome, retry: decision };
  if (decision.kind === "reject") return { outcome: decision };
  return { outcome: { ...decision, attempts: [attemptOf(error, now)] } };
}

const attemptOf = (error: ErrorInfo, now: number): Attempt => ({
  at: new Date(now).toISOString(),
  code: error.code,
  message: error.message,
});
