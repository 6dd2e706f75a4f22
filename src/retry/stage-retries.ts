import type { Pipeline } from "../config/pipeline.js";
import { toErrorInfo, type ErrorInfo } from "../protocol/errors.js";
import { Field, type StreamEntry } from "../streams/entry.js";
import type { RetryResolver } from "../pipeline/ports.js";
import type { Outcome, StageHandler } from "../pipeline/stage.js";
import {
  entryProcessor,
  retryingStatus,
  toJob,
  type EntryJob,
  type EntryJobsOptions,
} from "./jobs.js";
import { metrics } from "../telemetry/metrics.js";
import { backoffDelay, policyFor, strategyFor } from "./policy.js";
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
    this.#o.queues.work<EntryJob>(this.#queue, processor, this.#o.stage.concurrency);
  }

  /**
   * Decides each failure by the policy table: a retry is scheduled (the entry is then
   * acknowledged), a dead letter or a dropped message is committed as such. A retry that
   * cannot be scheduled (Redis trouble) stays pending, to be handed out again.
   */
  async resolve(entries: readonly StreamEntry[], outcomes: Outcome[]): Promise<Outcome[]> {
    const { pipeline } = this.#o;
    const resolved = outcomes.map((o) => decide(pipeline, o));
    const scheduled = resolved.flatMap((o, i) =>
      o.kind === "retry" ? [{ i, entry: entries[i]!, error: o.error }] : [],
    );
    const { failures, stage } = this.#o;
    for (const [i, o] of resolved.entries()) {
      if (o.kind === "retry" || o.kind === "reject" || o.kind === "dead_letter") {
        failures.failed(stage.name, entries[i]!, o.error);
      }
      if (o.kind === "dead_letter") failures.deadLettered(stage.name, entries[i]!, o.error);
    }
    if (scheduled.length === 0) return resolved;
    const now = Date.now();
    const jobs = scheduled.map(({ entry, error }) => {
      const policy = policyFor(pipeline, error);
      const delay = backoffDelay(policy, 1);
      const attempts = [
        { at: new Date(now).toISOString(), code: error.code, message: error.message },
      ];
      return {
        name: this.#o.stage.name,
        data: toJob(entry, 1, attempts),
        opts: { ...jobOptions(policy.attempts - 1, `${this.#o.stage.name}-${entry.id}`), delay },
        state: retryState(policy.attempts, now + delay),
        traceparent: entry.fields.get(Field.traceparent),
      };
    });
    try {
      await this.#o.queues.addEach(this.#queue, jobs);
    } catch (error) {
      this.#o.log.warn("could not schedule retries; the entries stay pending", {
        stage: this.#o.stage.name,
        count: jobs.length,
        error: toErrorInfo(error),
      });
      return resolved;
    }
    scheduled.forEach(({ i, entry, error }, k) => {
      resolved[i] = {
        kind: "retry",
        error,
        scheduled: retryingStatus(entry, this.#o.stage.name, error, jobs[k]!.state),
      };
      metrics.retries.inc({ stage: this.#o.stage.name, attempt: 2 });
    });
    return resolved;
  }
}

function retryState(maxAttempts: number, dueAt: number) {
  return { attempt: 2, max_attempts: maxAttempts, next_at: new Date(dueAt).toISOString() };
}

/** An outcome as the policy table has it; `retry` stays only where a retry is to be scheduled. */
function decide(pipeline: Pipeline, outcome: Outcome): Outcome {
  if (outcome.kind !== "retry" && outcome.kind !== "reject") return outcome;
  const strategy = strategyFor(pipeline, outcome.error);
  if (strategy === "dead_letter") return deadLetter(outcome.error);
  if (outcome.kind === "reject") return outcome; // permanent: dropped, the sender told
  if (strategy === "drop") return { kind: "reject", status: "undeliverable", error: outcome.error };
  return policyFor(pipeline, outcome.error).attempts > 1 ? outcome : deadLetter(outcome.error);
}

const deadLetter = (error: ErrorInfo): Outcome => ({
  kind: "dead_letter",
  error,
  attempts: [{ at: new Date().toISOString(), code: error.code, message: error.message }],
});
