import { z } from "zod";
import { MAX_JSON_DEPTH } from "../protocol/json-value.js";
import { positiveInt, streamName } from "./fields.js";

/**
 * How deep a message body may nest arrays and objects (`limits.maxBodyDepth`); at most
 * {@link MAX_JSON_DEPTH}, the ceiling every JSON value from outside is held to.
 * @defaultValue 64
 */
export const DEFAULT_MAX_BODY_DEPTH = 64;

/**
 * How fast each agent may send (`limits.sendRate`): a token bucket refilled at `perSecond`,
 * holding at most `burst`. Far above what an agent that waits for its replies sends, and
 * above the MCP benchmark's senders.
 * @defaultValue `{ perSecond: 200, burst: 400 }`
 */
export const DEFAULT_SEND_RATE = Object.freeze({ perSecond: 200, burst: 400 });

const SendRateSchema = z.strictObject({
  /** Sends per second an agent may keep up: the bucket's refill rate. */
  perSecond: z
    .number({ error: "expected sends per second, such as 200 (fractions allowed: 0.5)" })
    .positive({ error: "expected a positive number of sends per second" })
    .max(1_000_000)
    .default(DEFAULT_SEND_RATE.perSecond),
  /** Sends an agent may make at once after a quiet spell: the bucket's size. */
  burst: positiveInt("sends").max(1_000_000).default(DEFAULT_SEND_RATE.burst),
});

/** The `limits` block: what a message may be, as sent and as stored. */
export const LimitsSchema = z.strictObject({
  /** The most bytes a message body may have, as JSON. */
  maxBodyBytes: positiveInt("bytes").default(65_536),
  /** Envelopes longer than this are stored deflate-compressed. */
  compressAboveBytes: positiveInt("bytes").default(8192),
  /** The most bytes an entry may hold as stored. */
  maxEncodedBytes: positiveInt("bytes").default(262_144),
  /** The most bytes an envelope may inflate to. */
  maxDecodedBytes: positiveInt("bytes").default(1_048_576),
  /** The deepest a body may nest arrays and objects inside one another. */
  maxBodyDepth: positiveInt("levels")
    .max(MAX_JSON_DEPTH, `at most ${MAX_JSON_DEPTH} levels`)
    .default(DEFAULT_MAX_BODY_DEPTH),
  /** Each agent's send rate, shared by every front end (RATE_LIMITED beyond it). */
  sendRate: SendRateSchema.prefault({}),
});

/** The `dedupe` block: how long what was seen is remembered. */
export const DedupeSchema = z.strictObject({
  /** How long a sender's idempotency key is remembered. */
  idempotencyWindowMs: positiveInt("milliseconds").default(86_400_000),
  /** How long "this message is in this inbox" is remembered, against redelivery. */
  deliveryWindowMs: positiveInt("milliseconds").default(86_400_000),
});

/** The `history` block. */
export const HistorySchema = z.strictObject({
  /** How long message records and thread indexes are kept after their last change. */
  retentionMs: positiveInt("milliseconds").default(7 * 86_400_000),
});

/** The `deadLetters` block. */
export const DeadLettersSchema = z.strictObject({
  stream: streamName.default("dead"),
  /** Dead letters beyond this many are trimmed, oldest first. */
  maxLen: positiveInt("entries").default(100_000),
});
