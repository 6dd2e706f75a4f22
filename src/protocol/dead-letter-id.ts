import { z } from "zod";
import { describeStreamId, isStreamId } from "./stream-id.js";

/**
 * Dead-letter ids as users see and give them. Each partition has its own dead-letter
 * stream, and one stream id may be in two of them, so with `partitions` above 1 an id names
 * its partition: `p2:1732430000000-0` is entry `1732430000000-0` of partition 2's
 * dead-letter stream. With one partition ids stay bare stream ids, as they always were; a
 * bare id always means partition 0. Whether the partition exists is the store's to check.
 */

/** A dead letter's place: its partition and its entry id in that partition's stream. */
export interface DeadLetterRef {
  partition: number;
  /** The entry id in the partition's dead-letter stream (`ms-seq`). */
  entry: string;
}

/** The shape: an optional `p<partition>:`, then `ms-seq` (the range is checked apart). */
const DEAD_LETTER_ID = /^(?:p(0|[1-9]\d{0,2}):)?(\d{1,20}-\d{1,20})$/;

/** What a dead-letter id is, for error messages and schemas. */
export const DEAD_LETTER_ID_SHAPE = describeStreamId(
  "a dead-letter id such as `1732430000000-0` (from dlq_list; with partitions, `p2:1732430000000-0` names partition 2)",
);

/** The partition and entry an id names; undefined when it is no dead-letter id. */
export function parseDeadLetterId(text: string): DeadLetterRef | undefined {
  const match = DEAD_LETTER_ID.exec(text);
  if (match === null || !isStreamId(match[2]!)) return undefined;
  return { partition: Number(match[1] ?? 0), entry: match[2]! };
}

/** Whether `text` has the shape of a dead-letter id (its partition unchecked). */
export function isDeadLetterId(text: string): boolean {
  return parseDeadLetterId(text) !== undefined;
}

/** The id of a dead letter: bare with one partition, else naming its partition. */
export function formatDeadLetterId(ref: DeadLetterRef, partitions: number): string {
  return partitions === 1 ? ref.entry : `p${ref.partition}:${ref.entry}`;
}

/** A dead-letter id from outside, as a zod schema (the shape as its pattern, then the range). */
export function deadLetterIdSchema() {
  return z
    .string()
    .regex(DEAD_LETTER_ID, DEAD_LETTER_ID_SHAPE)
    .refine((text) => !DEAD_LETTER_ID.test(text) || isDeadLetterId(text), DEAD_LETTER_ID_SHAPE);
}
