import type { Redis } from "ioredis";
import type { Pipeline } from "../config/pipeline.js";
import { encodeEnvelope } from "../protocol/codec.js";
import type { Envelope } from "../protocol/envelope.js";
import type { Keys } from "../redis/keys.js";
import { Field } from "../pipeline/entry.js";
import { RecordField } from "../history/record.js";

export interface Accepted {
  message_id: string;
  thread_id: string;
  status: "accepted";
  /** The entry id in the ingress stream. */
  stream_id: string;
}

/**
 * The front door of the pipeline: a message is accepted once its envelope is appended to
 * the first stage's stream. Encoding errors (too large) are thrown before anything is written.
 */
export class Ingress {
  readonly #redis: Redis;
  readonly #stream: string;
  readonly #pipeline: Pipeline;
  readonly #keys: Keys;

  constructor(redis: Redis, keys: Keys, pipeline: Pipeline) {
    this.#redis = redis;
    this.#keys = keys;
    this.#pipeline = pipeline;
    this.#stream = keys.stream(pipeline.stages.validate.stream);
  }

  async accept(envelope: Envelope): Promise<Accepted> {
    const [accepted] = await this.acceptMany([envelope]);
    return accepted!;
  }

  /** Appends many envelopes in one round trip; all are encoded (and checked) first. */
  async acceptMany(envelopes: readonly Envelope[]): Promise<Accepted[]> {
    const encoded = envelopes.map((e) => encodeEnvelope(e, this.#pipeline.limits));
    const batch = this.#redis.pipeline();
    envelopes.forEach((envelope, i) => {
      const { enc, data } = encoded[i]!;
      batch.xadd(
        this.#stream,
        "*",
        Field.kind,
        "msg",
        Field.messageId,
        envelope.id,
        Field.encoding,
        enc,
        Field.envelope,
        data,
      );
    });
    // The sender can read its message with get_message at once; persist fills in the rest.
    const at = JSON.stringify({ at: new Date().toISOString() });
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
          at,
        )
        .pexpire(record, this.#pipeline.history.retentionMs);
    });
    const replies = (await batch.exec()) ?? [];
    return envelopes.map((envelope, i) => {
      const [error, streamId] = replies[i] ?? [new Error("no reply from Redis"), null];
      if (error) throw error;
      return {
        message_id: envelope.id,
        thread_id: envelope.thread_id,
        status: "accepted",
        stream_id: String(streamId),
      };
    });
  }
}
