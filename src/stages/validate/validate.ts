import { decodeEnvelope, encodeEnvelope } from "../../protocol/codec.js";
import type { Envelope } from "../../protocol/envelope.js";
import { SwitchboardError, toErrorInfo } from "../../protocol/errors.js";
import { Field, text, type StreamEntry } from "../../pipeline/entry.js";
import type { Outcome, StageContext, StageFactory } from "../../pipeline/stage.js";

/**
 * validate: the trust boundary of the pipeline. Decodes and checks the envelope (schema,
 * sizes, expiry), refuses a reused idempotency key, and gives the message its place in
 * its thread. Everything it refuses goes to persist with the reason.
 */
export const validateStage: StageFactory = (context) => ({
  handle: (entries) => Promise.all(entries.map((entry) => validateOne(context, entry))),
});

async function validateOne(context: StageContext, entry: StreamEntry): Promise<Outcome> {
  let envelope: Envelope;
  try {
    envelope = check(context, entry);
    await claimIdempotencyKey(context, envelope);
  } catch (error) {
    const info = toErrorInfo(error);
    if (info.code === "INTERNAL") return { kind: "retry", error: info };
    return {
      kind: "reject",
      status: info.code === "EXPIRED" ? "expired" : "rejected",
      error: info,
    };
  }
  if (envelope.seq === undefined) envelope.seq = await nextSeq(context, envelope.thread_id);
  const { enc, data } = encodeEnvelope(envelope, context.pipeline.limits);
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

function check(context: StageContext, entry: StreamEntry): Envelope {
  const { limits } = context.pipeline;
  const data = entry.fields.get(Field.envelope);
  if (data === undefined) {
    throw new SwitchboardError("MALFORMED_ENTRY", "entry has no envelope field", { field: "env" });
  }
  const envelope = decodeEnvelope(text(entry, Field.encoding) ?? "json", data, limits);
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
  const bodyBytes = Buffer.byteLength(JSON.stringify(envelope.body), "utf8");
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
  return envelope;
}

/**
 * Remembers the sender's idempotency key for the window. The same message coming back
 * (a redelivery) passes; another message with the same key is refused.
 */
async function claimIdempotencyKey(context: StageContext, envelope: Envelope): Promise<void> {
  if (envelope.idempotency_key === undefined) return;
  const key = context.keys.idempotency(envelope.from, envelope.idempotency_key);
  const window = context.pipeline.dedupe.idempotencyWindowMs;
  const first = await context.redis.set(key, envelope.id, "PX", window, "NX", "GET");
  if (first !== null && first !== envelope.id) {
    throw new SwitchboardError(
      "DUPLICATE_IDEMPOTENCY_KEY",
      `idempotency key '${envelope.idempotency_key}' was already used by message ${first}; use a new key for a new message`,
      { field: "idempotency_key" },
    );
  }
}

/** The next sequence number of a thread. A crash between this and the commit leaves a gap, never a repeat. */
async function nextSeq(context: StageContext, threadId: string): Promise<number> {
  const key = context.keys.threadSeq(threadId);
  const [seq] = await Promise.all([
    context.redis.incr(key),
    context.redis.pexpire(key, context.pipeline.history.retentionMs),
  ]);
  return seq;
}
