import { z } from "zod";

/**
 * Redis stream ids as they come from outside (tool arguments, CLI arguments): `ms-seq`, two
 * unsigned 64-bit numbers. A part past 2^64 − 1 is refused here, naming the field and the
 * range, instead of by Redis as an `ERR Invalid stream ID` that surfaces as INTERNAL.
 */

/** The largest value either part of a stream id may have: 2^64 − 1. */
export const MAX_STREAM_ID_PART = 18_446_744_073_709_551_615n;

const STREAM_ID = /^(\d{1,20})(?:-(\d{1,20}))?$/;
/** The shapes, for the schemas' `pattern` (the range is checked apart). */
const MS_SEQ = /^\d{1,20}-\d{1,20}$/;
const MS_SEQ_OR_MS = /^\d{1,20}(-\d{1,20})?$/;

export interface StreamIdOptions {
  /** Whether `ms` alone (no `-seq`) is accepted, as Redis does in ranges. @defaultValue false */
  msAlone?: boolean;
}

/** Whether `text` is a stream id Redis accepts: both parts whole numbers from 0 to 2^64 − 1. */
export function isStreamId(text: string, options: StreamIdOptions = {}): boolean {
  const match = STREAM_ID.exec(text);
  if (match === null) return false;
  const [, ms, seq] = match;
  if (seq === undefined && options.msAlone !== true) return false;
  return BigInt(ms!) <= MAX_STREAM_ID_PART && BigInt(seq ?? 0) <= MAX_STREAM_ID_PART;
}

/** What a stream id is, for messages: the shape and the range of its parts. */
export function describeStreamId(what: string, options: StreamIdOptions = {}): string {
  const shape = options.msAlone === true ? "`ms-seq` or `ms`" : "`ms-seq`";
  return `${what}: ${shape}, each part a whole number from 0 to ${MAX_STREAM_ID_PART} (2^64 − 1)`;
}

/**
 * A stream id from outside, as a zod schema: `what` says which id it is and where it comes
 * from, e.g. "a dead-letter id such as `1732430000000-0` (from dlq_list)".
 */
export function streamIdSchema(what: string, options: StreamIdOptions = {}) {
  const message = describeStreamId(what, options);
  const shape = options.msAlone === true ? MS_SEQ_OR_MS : MS_SEQ;
  return (
    z
      .string()
      .regex(shape, message)
      // The range, for what has the shape (the regex reports the rest, once).
      .refine((text) => !shape.test(text) || isStreamId(text, options), message)
  );
}
