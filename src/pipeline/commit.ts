import type { RedisClient as Redis } from "../redis/client.js";
import type { Pipeline, StageDefinition } from "../config/pipeline.js";
import { readStoredEnvelopes, type StoredEnvelope } from "../history/record.js";
import { categoryOf, SwitchboardError, type ErrorInfo } from "../protocol/errors.js";
import type { FailureStatus } from "../protocol/status.js";
import type { Keys } from "../redis/keys.js";
import {
  carry,
  Field,
  ORIGINAL_PREFIX,
  text,
  type FieldList,
  type Output,
  type StreamEntry,
} from "../streams/entry.js";
import { commitScript, type Append } from "./commit-script.js";
import type { Attempt, Outcome } from "./stage.js";

const CARRIED_ON_REJECT = [
  Field.messageId,
  Field.encoding,
  Field.envelope,
  Field.recipient,
  Field.traceparent,
] as const;

/** What a dead letter records of how its entry failed. */
export interface Failure {
  error: ErrorInfo;
  /** How often the entry was handed out or tried. */
  deliveries: number;
  /** Each failed attempt, when known (retries know; a poison entry only its count). */
  attempts?: readonly Attempt[] | undefined;
}

/** The trace id of a W3C `traceparent` (`00-<trace id>-<span id>-<flags>`). */
const TRACE_ID = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/;

/** The value of a field in a flat field/value list, as text. */
function valueOf(fields: FieldList, name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i]?.toString() === name) return fields[i + 1]!.toString();
  }
  return undefined;
}

/** When a stream entry was added, from its id (`<ms>-<seq>`). */
const entryTime = (id: string): number => Number(id.slice(0, id.indexOf("-")));

/** The owner lease a commit must hold, when a partition has one owner at a time. */
export type Fence = () => { lease: string; value: string } | undefined;

/**
 * A commit refused because this worker no longer owns the partition: nothing was written,
 * and the entries stay pending for the new owner, who takes them over first.
 */
function fencedOut(stage: string, partition: number): SwitchboardError {
  return new SwitchboardError(
    "REDIS_UNAVAILABLE",
    `stage '${stage}' of partition ${partition}: this worker's lease was taken over by another; nothing was committed`,
  );
}

/**
 * Turns outcomes into one atomic commit script call per batch: acknowledgements and the
 * entries they forward go to Redis together, or not at all.
 */
export class Committer {
  readonly #redis: Redis;
  readonly #keys: Keys;
  readonly #pipeline: Pipeline;
  readonly #stage: StageDefinition;
  readonly #fence: Fence | undefined;

  /** With a fence (`ordering: thread`), a commit writes only while this owner holds the lease. */
  constructor(redis: Redis, keys: Keys, pipeline: Pipeline, stage: StageDefinition, fence?: Fence) {
    this.#redis = redis;
    this.#keys = keys;
    this.#pipeline = pipeline;
    this.#stage = stage;
    this.#fence = fence;
  }

  /** Commits every outcome but an unscheduled `retry`; returns how many entries it acknowledged. */
  async commit(entries: readonly StreamEntry[], outcomes: readonly Outcome[]): Promise<number> {
    const envelopes = await this.envelopesOfDeadLetters(entries, outcomes);
    const committed = entries.flatMap((entry, i) => {
      const outcome = outcomes[i];
      if (outcome === undefined || (outcome.kind === "retry" && outcome.scheduled === undefined))
        return [];
      return [{ id: entry.id, outputs: this.outputsOf(entry, outcome, envelopes) }];
    });
    if (committed.length === 0) return 0;
    return this.#commitScript(committed);
  }

  /** Moves entries to the dead letters (and tells persist), acknowledging them. */
  async deadLetter(
    entries: readonly StreamEntry[],
    deliveries: ReadonlyMap<string, number>,
    error: ErrorInfo,
  ): Promise<number> {
    const outcomes = entries.map((entry): Outcome => ({
      kind: "dead_letter",
      error,
      deliveries: deliveries.get(entry.id) ?? 0,
    }));
    return this.commit(entries, outcomes);
  }

  /**
   * Appends what an outcome produces for an entry that is in no stream any more (a retry
   * job's): the same outputs `commit` would write, without an acknowledgement.
   */
  async append(entry: StreamEntry, outcome: Exclude<Outcome, { kind: "retry" }>): Promise<void> {
    const envelopes = await this.envelopesOfDeadLetters([entry], [outcome]);
    const outputs = this.outputsOf(entry, outcome, envelopes);
    if (outputs.length === 0) return;
    await this.#commitScript([{ id: "", outputs }]);
  }

  /**
   * One commit script call: acknowledges each entry (none for id '') and appends its
   * outputs; each dead letter's id also goes into the set of its message's dead letters.
   */
  async #commitScript(
    committed: readonly { id: string; outputs: readonly Output[] }[],
  ): Promise<number> {
    const acked = await commitScript.run(this.#redis, {
      stream: this.#keys.stream(this.#stage.stream),
      group: this.#stage.group,
      indexTtlMs: this.#pipeline.history.retentionMs,
      fence: this.#fence?.(),
      entries: committed.map(({ id, outputs }) => ({
        id,
        outputs: outputs.map((output): Append => {
          const messageId =
            output.to === "dead" ? valueOf(output.fields, Field.messageId) : undefined;
          return {
            stream: this.streamOf(output.to),
            index: messageId === undefined ? undefined : this.#keys.deadLettersOf(messageId),
            fields: output.fields,
          };
        }),
      })),
    });
    if (acked === -1) throw fencedOut(this.#stage.name, this.#keys.partition);
    return acked;
  }

  /** The stored envelopes of messages about to be dead-lettered, so the dead letter holds it. */
  private async envelopesOfDeadLetters(
    entries: readonly StreamEntry[],
    outcomes: readonly (Outcome | undefined)[],
  ): Promise<Map<string, StoredEnvelope>> {
    const ids = entries
      .filter((e, i) => this.deadLetters(outcomes[i]) && !e.fields.has(Field.envelope))
      .map((e) => text(e, Field.messageId))
      .filter((id): id is string => id !== undefined);
    const stored = await readStoredEnvelopes(this.#redis, this.#keys, ids);
    return new Map(ids.flatMap((id, i) => (stored[i] === undefined ? [] : [[id, stored[i]]])));
  }

  private deadLetters(outcome: Outcome | undefined): boolean {
    return (
      outcome?.kind === "dead_letter" ||
      (outcome?.kind === "reject" && this.#stage.name === "persist")
    );
  }

  private outputsOf(
    entry: StreamEntry,
    outcome: Outcome,
    envelopes: ReadonlyMap<string, StoredEnvelope>,
  ): Output[] {
    const envelope = envelopes.get(text(entry, Field.messageId) ?? "");
    switch (outcome.kind) {
      case "forward":
        return outcome.outputs;
      case "retry":
        return outcome.scheduled ?? [];
      case "done":
        return [];
      case "dead_letter":
        return this.deadLetterOutputs(
          entry,
          {
            error: outcome.error,
            deliveries: outcome.deliveries ?? 1,
            attempts: outcome.attempts,
          },
          envelope,
        );
      case "reject":
        if (this.#stage.name === "persist") {
          // Persist cannot tell itself: keep the entry where an operator will see it.
          return this.deadLetterOutputs(entry, { error: outcome.error, deliveries: 1 }, envelope);
        }
        return [this.failureStatus(entry, outcome.status, JSON.stringify(outcome.error))];
    }
  }

  private deadLetterOutputs(
    entry: StreamEntry,
    failure: Failure,
    stored: StoredEnvelope | undefined,
  ): Output[] {
    const { error, deliveries, attempts = [] } = failure;
    const original: FieldList = [];
    for (const [name, value] of entry.fields) original.push(ORIGINAL_PREFIX + name, value);
    const why = JSON.stringify(error);
    const first = attempts[0] === undefined ? entryTime(entry.id) : Date.parse(attempts[0].at);
    const traceId = TRACE_ID.exec(text(entry, Field.traceparent) ?? "")?.[1];
    const outputs: Output[] = [
      {
        to: "dead",
        fields: [
          ...carry(entry, [Field.messageId, Field.recipient, Field.from]),
          Field.stage,
          this.#stage.name,
          Field.sourceId,
          entry.id,
          Field.deliveries,
          String(deliveries),
          Field.error,
          why,
          Field.code,
          error.code,
          Field.category,
          categoryOf(error.code),
          Field.firstFailure,
          String(first),
          Field.lastFailure,
          String(Date.now()),
          ...(attempts.length === 0 ? [] : [Field.attempts, JSON.stringify(attempts)]),
          ...(traceId === undefined ? [] : [Field.traceId, traceId]),
          ...(stored === undefined
            ? carry(entry, [Field.encoding, Field.envelope])
            : [Field.encoding, stored.enc, Field.envelope, stored.data]),
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
