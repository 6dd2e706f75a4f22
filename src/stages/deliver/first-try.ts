import type { Pipeline, StageDefinition } from "../../config/pipeline.js";
import { decideFailure, policyOf } from "../../pipeline/failure-decision.js";
import type { FailureSink } from "../../pipeline/ports.js";
import { DONE, type Outcome, type WebhookPushes } from "../../pipeline/stage.js";
import { toErrorInfo, type ErrorInfo } from "../../protocol/errors.js";
import type { JobsOptions } from "bullmq";
import type { Attempt } from "../../pipeline/stage.js";
import { retryingStatus, toJob, type EntryJob, type JobTry, type Tried } from "../../retry/jobs.js";
import { jobOptions, WEBHOOK_QUEUE, type Queues } from "../../retry/queues.js";
import { traceAttempt } from "../../retry/tracing.js";
import { Field, type Output, type StreamEntry } from "../../streams/entry.js";
import type { Logger } from "../../telemetry/log.js";
import { metrics } from "../../telemetry/metrics.js";
import { Slots } from "./slots.js";
import type { Pusher, Ready } from "./push.js";
import { heldStatus, type Pushed } from "./push-results.js";

/**
 * How long deliver waits for the first tries of a batch (a free slot and the POST); what
 * is not answered by then is handed to a job.
 * @defaultValue 1000 ms
 */
export const FIRST_TRY_BUDGET_MS = 1000;

/**
 * The budget of a batch's first tries: {@link FIRST_TRY_BUDGET_MS}, no longer than
 * `webhooks.timeoutMs`, and well inside deliver's `claimIdleMs`, so that no other
 * consumer claims an entry while its first try is still out.
 */
export function firstTryBudgetMs(pipeline: Pipeline, stage: StageDefinition): number {
  return Math.min(FIRST_TRY_BUDGET_MS, pipeline.webhooks.timeoutMs, stage.claimIdleMs / 2);
}

export interface FirstTriesOptions {
  pusher: Pusher;
  queues: Queues;
  pipeline: Pipeline;
  /** The deliver stage. */
  stage: StageDefinition;
  failures: FailureSink;
  log: Logger;
}

/** A job for the webhook queue, and what deliver commits for its entry meanwhile. */
interface HandOff {
  entry: StreamEntry;
  job: { name: string; data: EntryJob; opts: JobsOptions };
  outcome: Outcome;
  /** The failed first try, recorded once its retry is scheduled. */
  failed?: { error: ErrorInfo; endpoint: string | undefined; attempt: number };
}

/**
 * The first try of each push, made by deliver itself without a BullMQ job: at most
 * `webhooks.concurrency` POSTs at once per process, on keep-alive connections, within
 * {@link firstTryBudgetMs} for the batch. A success is committed by deliver with its
 * entry (the `delivered` status and the acknowledgement in one script call); only what
 * did not succeed becomes a job of the webhook queue, as the job path would have left it:
 * a failure counts as attempt 1 (its retry scheduled by the `delivery` policy, or its
 * dead letter), a push held back by the breaker waits for it, and a try abandoned at the
 * budget (not counted by the breaker) or broken off by an error is tried again at once.
 */
export class FirstTries implements WebhookPushes {
  readonly #o: FirstTriesOptions;
  readonly #slots: Slots;

  constructor(options: FirstTriesOptions) {
    this.#o = options;
    this.#slots = new Slots(options.pipeline.webhooks.concurrency);
  }

  async push(entries: readonly StreamEntry[]): Promise<Outcome[]> {
    const budget = AbortSignal.timeout(firstTryBudgetMs(this.#o.pipeline, this.#o.stage));
    const of = policyOf(this.#o.pipeline, "delivery").attempts;
    const firstTry: JobTry = { attempt: 1, of };
    let prepared: (Ready | Tried)[];
    try {
      prepared = await this.#o.pusher.prepare(entries);
    } catch {
      return this.#handOff(entries.map((entry) => again(entry, of))); // the jobs try from scratch
    }
    const tried = await Promise.all(
      prepared.map(async (p, i) => {
        if (p.kind !== "ready") return p;
        return this.#slots.run(async (): Promise<HandOff | Outcome> => {
          const entry = entries[i]!;
          if (budget.aborted) return again(entry, of);
          const trace = traceAttempt("send webhook", "webhook", entry, 1);
          try {
            let pushed = await this.#o.pusher.send(p, firstTry, budget);
            // The span's context goes on in what the try wrote (its `delivered` status).
            if (pushed.kind === "held") trace.end({ kind: "retry", error: HELD });
            else pushed = trace.end(pushed);
            return this.#settle(entry, firstTry, pushed, budget);
          } catch (error) {
            trace.end({ kind: "retry", error: toErrorInfo(error) });
            return again(entry, of);
          }
        });
      }),
    );
    return this.#handOff(tried);
  }

  /** What a first try came to: an outcome for deliver to commit, or a job. */
  #settle(entry: StreamEntry, thisTry: JobTry, pushed: Pushed, budget: AbortSignal) {
    if (pushed.kind === "held") {
      return handOff(entry, thisTry.of, 0, heldStatus(entry, thisTry, pushed), pushed.until);
    }
    if (pushed.kind !== "retry") return pushed;
    if (budget.aborted) return again(entry, thisTry.of);
    const { error, endpoint, retryAfterMs } = pushed;
    const failed = { ...thisTry, kind: "retry" as const, error, retryAfterMs, random: Math.random };
    const decision = decideFailure(this.#o.pipeline, this.#o.stage, failed);
    const attempt = { at: new Date().toISOString(), code: error.code, message: error.message };
    if (decision.kind === "dead_letter") {
      return { kind: "dead_letter", error, deliveries: 1, attempts: [attempt] } as const;
    }
    if (decision.kind === "reject") return decision;
    const next = Date.now() + decision.delayMs;
    const status = retryingStatus(entry, "deliver", error, {
      attempt: decision.attempt,
      max_attempts: decision.of,
      next_at: new Date(next).toISOString(),
    });
    const job = handOff(entry, decision.of - 1, 1, status, next, [attempt]);
    return { ...job, failed: { error, endpoint, attempt: decision.attempt } };
  }

  /**
   * Queues the jobs in one batch. If the queue cannot take them (Redis trouble), their
   * entries stay pending in deliver, to be handed out again.
   */
  async #handOff(tried: readonly (HandOff | Outcome)[]): Promise<Outcome[]> {
    const jobs = tried.filter((t): t is HandOff => "job" in t);
    if (jobs.length === 0) return tried as Outcome[];
    try {
      await this.#o.queues.addEach(
        WEBHOOK_QUEUE,
        jobs.map(({ entry, job }) => ({
          ...job,
          traceparent: entry.fields.get(Field.traceparent),
        })),
      );
    } catch (error) {
      this.#o.log.warn("could not queue pushes; their entries stay pending", {
        stage: this.#o.stage.name,
        count: jobs.length,
        error: toErrorInfo(error),
      });
      const pending: Outcome = { kind: "retry", error: toErrorInfo(error) };
      return tried.map((t) => ("job" in t ? pending : t));
    }
    return tried.map((t) => {
      if (!("job" in t)) return t;
      if (t.failed !== undefined) {
        const { error, endpoint, attempt } = t.failed;
        this.#o.failures.failed(this.#o.stage.name, t.entry, error, endpoint);
        metrics.retries.inc({ stage: this.#o.stage.name, attempt });
      }
      return t.outcome;
    });
  }
}

const HELD: ErrorInfo = { code: "BREAKER_OPEN", message: "held back by the endpoint's breaker" };

/**
 * A push job of `tries` tries (`tried` made already, with their `history`), due at `at`
 * (now if unset), and what deliver commits meanwhile: `outputs` (a `retrying` status), if any.
 */
function handOff(
  entry: StreamEntry,
  tries: number,
  tried: number,
  outputs: Output[],
  at?: number,
  history: Attempt[] = [],
): HandOff {
  const delay = at === undefined ? 0 : Math.max(0, at - Date.now());
  return {
    entry,
    job: {
      name: "push",
      data: toJob(entry, tried, history),
      opts: { ...jobOptions(tries, `push-${entry.id}`), delay },
    },
    outcome: outputs.length === 0 ? DONE : { kind: "forward", outputs },
  };
}

/** A push whose first try was not made or not finished: its job makes it again, at once. */
const again = (entry: StreamEntry, tries: number): HandOff => handOff(entry, tries, 0, []);
