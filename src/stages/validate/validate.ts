import { decodeEnvelope, withSeq, type EncodedEnvelope } from "../../protocol/codec.js";
import type { Envelope } from "../../protocol/envelope.js";
import { SwitchboardError, toErrorInfo } from "../../protocol/errors.js";
import { pipelined, type ItemReplies } from "../../redis/batch.js";
import { Field, text, type StreamEntry } from "../../pipeline/entry.js";
import type { Outcome, StageContext, StageFactory } from "../../pipeline/stage.js";

/**
 * validate: the trust boundary of the pipeline. Decodes and checks the envelope (schema,
 * sizes, expiry), refuses a reused idempotency key, and gives the message its place in
 * its thread. Everything it refuses goes to persist with the reason.
 */
export const validateStage: StageFactory = (context) => ({
  async handle(entries) {
    const checked = entries.map((entry) => check(context, entry));
    const valid = checked.filter((c): c is Checked => !("kind" in c));
    const replies = await pipelined(
      context.redis,
      valid,
      function queueValidate(pipeline, { envelope }) {
        const { keys, pipeline: definition } = context;
        if (envelope.idempotency_key !== undefined) {
          const key = keys.idempotency(envelope.from, envelope.idempotency_key);
          pipeline.set(key, envelope.id, "PX", definition.dedupe.idempotencyWindowMs, "NX", "GET");
        }
        if (envelope.seq === undefined) {
          // A crash before the commit leaves a gap in the numbering, never a repeat.
          const seqKey = keys.threadSeq(envelope.thread_id);
          const ttl = definition.history.retentionMs;
          // The first message of a thread made for it is 1 (again, if redelivered).
          if (startsThread(envelope)) pipeline.set(seqKey, 1, "PX", ttl, "NX");
          else pipeline.incr(seqKey).pexpire(seqKey, ttl);
        }
      },
    );
    let next = 0;
    return checked.map((c) => ("kind" in c ? c : conclude(context, c, replies[next++]!)));
  },
});

/** A message whose thread was made for it (the front end's default) is first in its thread. */
function startsThread(envelope: Envelope): boolean {
  return envelope.thread_id === envelope.id;
}

/** An envelope that passed the checks, with its bytes as stored. */
interface Checked {
  envelope: Envelope;
  stored: EncodedEnvelope;
}

/** The decoded envelope, or the outcome that refuses the entry. */
function check(context: StageContext, entry: StreamEntry): Checked | Outcome {
  try {
    return checkEnvelope(context, entry);
  } catch (error) {
    const info = toErrorInfo(error);
    return {
      kind: "reject",
      status: info.code === "EXPIRED" ? "expired" : "rejected",
      error: info,
    };
  }
}

function checkEnvelope(context: StageContext, entry: StreamEntry): Checked {
  const { limits } = context.pipeline;
  const data = entry.fields.get(Field.envelope);
  if (data === undefined) {
    throw new SwitchboardError("MALFORMED_ENTRY", "entry has no envelope field", { field: "env" });
  }
  const enc = text(entry, Field.encoding) ?? "json";
  const envelope = decodeEnvelope(enc, data, limits);
  const mid = text(entry, Field.messageId);
  if (mid !== undefined && mid !== envelope.id) {
    throw new SwitchboardError(
      "MALFORMED_ENTRY",
      `entry says message ${mid} but holds envelope ${envelope.id}`,
      {
        field: "id",
      },
    );
  }
  // The body is part of the envelope: only an envelope larger than the limit needs measuring.
  const size = enc === "json" ? data.length : Infinity;
  const bodyBytes =
    size <= limits.maxBodyBytes ? 0 : Buffer.byteLength(JSON.stringify(envelope.body), "utf8");
  if (bodyBytes > limits.maxBodyBytes) {
    throw new SwitchboardError(
      "TOO_LARGE",
      `body is ${bodyBytes} bytes, over the limit of ${limits.maxBodyBytes}; send a smaller body or a link to the data (operators: \`limits.maxBodyBytes\`)`,
      { field: "body" },
    );
  }
  if (envelope.expires_at !== undefined && Date.parse(envelope.expires_at) <= context.now()) {
    throw new SwitchboardError(
      "EXPIRED",
      `message expired at ${envelope.expires_at} before it was validated`,
      {
        field: "expires_at",
      },
    );
  }
  return { envelope, stored: { enc: enc === "deflate" ? "deflate" : "json", data } };
}

/**
 * Applies what Redis answered: the idempotency key (the same message coming back after
 * a redelivery passes; another message with the same key is refused) and the sequence.
 */
function conclude(context: StageContext, checked: Checked, answer: ItemReplies): Outcome {
  const { envelope, stored } = checked;
  if (!answer.ok) return { kind: "retry", error: toErrorInfo(answer.error) };
  const replies = [...answer.replies];
  if (envelope.idempotency_key !== undefined) {
    const first = replies.shift() as string | null;
    if (first !== null && first !== envelope.id) {
      const error = new SwitchboardError(
        "DUPLICATE_IDEMPOTENCY_KEY",
        `idempotency key '${envelope.idempotency_key}' was already used by message ${first}; use a new key for a new message`,
        { field: "idempotency_key" },
      );
      return { kind: "reject", status: "rejected", error: error.toInfo() };
    }
  }
  let encoded: EncodedEnvelope = stored;
  if (envelope.seq === undefined) {
    const seq = startsThread(envelope) ? 1 : (replies.shift() as number);
    try {
      encoded = withSeq(stored, envelope, seq, context.pipeline.limits);
    } catch (error) {
      return { kind: "reject", status: "rejected", error: toErrorInfo(error) };
    }
  }
  const { enc, data } = encoded;
  return {
    kind: "forward",
    outputs: [
      {
        to: "route",
        fields: [
          Field.kind,
          "msg",
          Field.messageId,
          envelope.id,
          Field.encoding,
          enc,
          Field.envelope,
          data,
        ],
      },
    ],
  };
}
