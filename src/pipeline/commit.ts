import type { Redis } from "ioredis";
import type { Pipeline, StageDefinition } from "../config/pipeline.js";
import type { ErrorInfo } from "../protocol/errors.js";
import type { FailureStatus } from "../protocol/status.js";
import type { Keys } from "../redis/keys.js";
import { carry, Field, type FieldList, type Output, type StreamEntry } from "./entry.js";
import type { Outcome } from "./stage.js";

/** Dead-letter entries keep the original fields under this prefix, for replay. */
export const ORIGINAL_PREFIX = "o.";

const CARRIED_ON_REJECT = [
  Field.messageId,
  Field.encoding,
  Field.envelope,
  Field.recipient,
  Field.traceparent,
] as const;

/**
 * Turns outcomes into one atomic `sbCommit` call per batch: acknowledgements and the
 * entries they forward go to Redis together, or not at all.
 */
export class Committer {
  readonly #redis: Redis;
  readonly #keys: Keys;
  readonly #pipeline: Pipeline;
  readonly #stage: StageDefinition;

  constructor(redis: Redis, keys: Keys, pipeline: Pipeline, stage: StageDefinition) {
    this.#redis = redis;
    this.#keys = keys;
    this.#pipeline = pipeline;
    this.#stage = stage;
  }

  /** Commits every outcome but `retry`; returns how many entries this call acknowledged. */
  async commit(entries: readonly StreamEntry[], outcomes: readonly Outcome[]): Promise<number> {
    const streams = [this.#keys.stream(this.#stage.stream)];
    const streamIndex = new Map<string, number>();
    const args: (string | Buffer | number)[] = [this.#stage.group, 0];
    let count = 0;
    entries.forEach((entry, i) => {
      const outcome = outcomes[i];
      if (outcome === undefined || outcome.kind === "retry") return;
      const outputs = this.outputsOf(entry, outcome);
      args.push(entry.id, outputs.length);
      for (const output of outputs) {
        const key = this.streamOf(output.to);
        let index = streamIndex.get(key);
        if (index === undefined) {
          streams.push(key);
          index = streams.length; // KEYS are 1-based
          streamIndex.set(key, index);
        }
        args.push(index, output.fields.length / 2, ...output.fields);
      }
      count += 1;
    });
    if (count === 0) return 0;
    args[1] = count;
    return this.#redis.sbCommit(streams.length, ...streams, ...args);
  }

  /** Moves entries to the dead letters (and tells persist), acknowledging them. */
  async deadLetter(
    entries: readonly StreamEntry[],
    deliveries: ReadonlyMap<string, number>,
    error: ErrorInfo,
  ): Promise<number> {
    const outcomes = entries.map((entry) => ({
      kind: "forward" as const,
      outputs: this.deadLetterOutputs(entry, deliveries.get(entry.id) ?? 0, error),
    }));
    return this.commit(entries, outcomes);
  }

  private outputsOf(entry: StreamEntry, outcome: Exclude<Outcome, { kind: "retry" }>): Output[] {
    switch (outcome.kind) {
      case "forward":
        return outcome.outputs;
      case "done":
        return [];
      case "reject":
        if (this.#stage.name === "persist") {
          // Persist cannot tell itself: keep the entry where an operator will see it.
          return this.deadLetterOutputs(entry, 1, outcome.error);
        }
        return [this.failureStatus(entry, outcome.status, JSON.stringify(outcome.error))];
    }
  }

  private deadLetterOutputs(entry: StreamEntry, deliveries: number, error: ErrorInfo): Output[] {
    const original: FieldList = [];
    for (const [name, value] of entry.fields) original.push(ORIGINAL_PREFIX + name, value);
    const why = JSON.stringify(error);
    const outputs: Output[] = [
      {
        to: "dead",
        fields: [
          ...carry(entry, [Field.messageId]),
          Field.stage,
          this.#stage.name,
          Field.sourceId,
          entry.id,
          Field.deliveries,
          String(deliveries),
          Field.error,
          why,
          ...original,
        ],
      },
    ];
    if (this.#stage.name !== "persist" && entry.fields.has(Field.messageId)) {
      outputs.push(this.failureStatus(entry, "dead_lettered", why));
    }
    return outputs;
  }

  /** A status event for persist that records a failure, carrying what identifies it. */
  private failureStatus(entry: StreamEntry, status: FailureStatus, why: string): Output {
    return {
      to: "persist",
      fields: [
        Field.kind,
        "status",
        Field.status,
        status,
        Field.error,
        why,
        Field.stage,
        this.#stage.name,
        ...carry(entry, CARRIED_ON_REJECT),
      ],
    };
  }

  private streamOf(to: Output["to"]): string {
    const name =
      to === "dead" ? this.#pipeline.deadLetters.stream : this.#pipeline.stages[to].stream;
    return this.#keys.stream(name);
  }
}
