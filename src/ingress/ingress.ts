import { sendInOrder } from "../redis/batch.js";
import type { RedisClient } from "../redis/client.js";
import type { Pipeline } from "../config/pipeline.js";
import { encodeEnvelope } from "../protocol/codec.js";
import type { Envelope } from "../protocol/envelope.js";
import { awaitReplicas } from "../redis/durability.js";
import type { Keys } from "../redis/keys.js";
import { Field } from "../streams/entry.js";
import { Partitions } from "../streams/partitions.js";
import { RecordField } from "../history/record.js";
import { traceSend } from "./tracing.js";

/** What a send that `durability: replicated` could not confirm is told. */
const UNCONFIRMED =
  "not accepted: the message was written but not confirmed by the replicas, so it may still be delivered, or be lost if Redis fails over; send it again with the same idempotency_key, which is never delivered twice";

export interface Accepted {
  message_id: string;
  thread_id: string;
  status: "accepted";
  /** The entry id in the ingress stream. */
  stream_id: string;
}

/**
 * The front door of the pipeline. The envelope is stored once, in the message record; the
 * entry appended to the first stage's stream carries only the message id (a claim check),
 * so no stage copies the body along. A message is accepted once that entry is appended,
 * in the first stage of its thread's partition. Encoding errors (too large) are thrown
 * before anything is written.
 */
export class Ingress {
  readonly #redis: RedisClient;
  readonly #pipeline: Pipeline;
  readonly #keys: Keys;
  readonly #partitions: Partitions;

  constructor(redis: RedisClient, keys: Keys, pipeline: Pipeline) {
    this.#redis = redis;
    this.#keys = keys;
    this.#pipeline = pipeline;
    this.#partitions = new Partitions(keys, pipeline.partitions);
  }

  /** The first stage's stream of a thread's partition. */
  #streamOf(threadId: string): string {
    return this.#partitions.of(threadId).stream(this.#pipeline.stages.validate.stream);
  }

  async accept(envelope: Envelope): Promise<Accepted> {
    const [accepted] = await this.acceptMany([envelope]);
    return accepted!;
  }

  /**
   * Accepts many envelopes in one round trip (two on a Redis Cluster); all are encoded
   * (and checked) first.
   */
  async acceptMany(envelopes: readonly Envelope[]): Promise<Accepted[]> {
    const encoded = envelopes.map((e) => encodeEnvelope(e, this.#pipeline.limits));
    const accepted = JSON.stringify({ at: new Date().toISOString() });
    const ttl = this.#pipeline.history.retentionMs;
    const sent = envelopes.map((e) => traceSend(e, this.#pipeline.stages.validate.stream));
    // The records first: validate reads one as soon as its entry is there. On a Redis
    // Cluster a record and its entry live on different nodes: the entries then go once
    // every record is written.
    const replies = await sendInOrder(this.#redis, [
      (batch) => {
        envelopes.forEach((envelope, i) => {
          const { enc, data } = encoded[i]!;
          const record = this.#keys.message(envelope.id);
          batch
            .hset(
              record,
              RecordField.encoding,
              enc,
              RecordField.envelope,
              data,
              RecordField.message("accepted"),
              accepted,
            )
            .pexpire(record, ttl);
        });
      },
      (batch) => {
        envelopes.forEach((envelope, i) => {
          batch.xadd(
            this.#streamOf(envelope.thread_id),
            "*",
            Field.kind,
            "msg",
            Field.messageId,
            envelope.id,
            ...sent[i]!.fields,
          );
        });
      },
    ]);
    const entries = 2 * envelopes.length;
    const results = envelopes.map((envelope, i): Accepted => {
      const entry = replies[entries + i]!;
      const failed = [replies[2 * i]!, replies[2 * i + 1]!, entry].find(
        ([error]) => error !== null,
      );
      sent[i]!.end(failed?.[0]);
      if (failed !== undefined) throw failed[0]!;
      return {
        message_id: envelope.id,
        thread_id: envelope.thread_id,
        status: "accepted",
        stream_id: String(entry[1]),
      };
    });
    const written = envelopes.flatMap((e) => [
      this.#keys.message(e.id),
      this.#streamOf(e.thread_id),
    ]);
    await awaitReplicas(this.#redis, this.#pipeline.durability, written, UNCONFIRMED);
    return results;
  }
}
