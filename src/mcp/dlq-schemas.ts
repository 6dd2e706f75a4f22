import { z } from "zod";
import { ERROR_CATEGORIES } from "../protocol/errors.js";

/** Output schemas of the dlq_* admin tools. */

export const DeadLetterSchema = z.looseObject({
  id: z
    .string()
    .describe(
      "What dlq_replay and dlq_purge take; with several partitions it names its own, as `p2:1732430000000-0`.",
    ),
  at: z.string().describe("When it was dead-lettered."),
  message_id: z.string().optional(),
  stage: z.string().describe("The stage it gave up in; replay puts it back there."),
  code: z.string(),
  category: z.enum(ERROR_CATEGORIES),
  error: z.string().describe("The last error's message."),
  recipient: z.string().optional(),
  from: z.string().optional(),
  attempts: z.number().int().describe("Attempts or deliveries made."),
  first_failure_at: z.string().optional(),
  last_failure_at: z.string().optional(),
  trace_id: z.string().optional(),
  source_id: z.string().optional().describe("The stage entry it was."),
});

const count = (what: string) => z.number().int().min(0).describe(what);

export const ReplayShape = {
  replayed: count("Put back into their stage now."),
  already_replayed: count("Replayed before: nothing was done again."),
  not_found: count("No such dead letter (replayed long ago, purged, trimmed, or mistyped)."),
  unreplayable: count("Holding no original entry to put back; purge them."),
  results: z
    .array(
      z.looseObject({
        id: z.string(),
        message_id: z
          .string()
          .optional()
          .describe("The message id given that named this dead letter (one per recipient)."),
        result: z.enum(["replayed", "already_replayed", "not_found", "unreplayable"]),
        entry_id: z.string().optional().describe("The entry it became in its stage's stream."),
        replayed_at: z.string().optional(),
        reason: z.string().optional(),
      }),
    )
    .optional()
    .describe("Per id, when `ids` were given."),
};

export const PurgeShape = {
  purged: count("Deleted for good."),
  not_found: count("No such dead letter."),
  results: z
    .array(
      z.looseObject({
        id: z.string(),
        message_id: z.string().optional().describe("The message id given that named it."),
        result: z.enum(["purged", "not_found"]),
      }),
    )
    .optional()
    .describe("Per id, when `ids` were given."),
};
