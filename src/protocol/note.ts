import { z } from "zod";
import { SwitchboardError } from "./errors.js";

/**
 * Shared notes: small versioned documents a team of agents keeps (a plan, an API contract,
 * a decision log). The schemas the tools and the CLI share, and the bounds they hold to.
 */

/**
 * A note key: 1-200 letters, digits, '.', '_', '/' or '-', starting with a letter or digit.
 * Slashes let a team name notes like paths (`plans/auth`) and list them by prefix; braces
 * and colons are kept out, so a key never breaks the hash tag of its Redis keys.
 */
export const NOTE_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$/;

export const NOTE_KEY_RULE =
  "a note key is 1-200 letters, digits, '.', '_', '/' or '-', starting with a letter or digit, such as `plans/auth`";

/** How many versions of a note are kept (content, author, time); older ones are dropped. */
export const NOTE_HISTORY_VERSIONS = 50;

/** The longest a note may live before it expires: a year. */
export const MAX_NOTE_TTL_SECONDS = 365 * 86_400;

/** The most notes list_notes returns; the rest are named by a narrower prefix. */
export const MAX_NOTES_LISTED = 1000;

/** The topic on which every change of a note is published. */
export const NOTES_TOPIC = "switchboard.notes";
/** The type of those messages. */
export const NOTE_CHANGED_TYPE = "switchboard.note_changed";

export const NoteKeySchema = z.string().regex(NOTE_KEY_PATTERN, NOTE_KEY_RULE);

/** A prefix of note keys: what a key may start with (empty: every note). */
export const NotePrefixSchema = z
  .string()
  .max(200, "a prefix is at most 200 characters")
  .regex(/^[A-Za-z0-9._/-]*$/, "a prefix holds only letters, digits, '.', '_', '/' or '-'");

const versionSchema = (what: string) =>
  z
    .number({ error: `\`${what}\` is a whole number: a note's version, from 1` })
    .int(`\`${what}\` is a whole number: a note's version, from 1`)
    .min(0, `\`${what}\` is a note's version: 1 or more (0 only for "the note must not exist")`)
    .max(Number.MAX_SAFE_INTEGER);

export const NoteInputs = {
  put_note: z.strictObject({
    key: NoteKeySchema.describe("The note's key, e.g. `plans/auth` or `api/contract`."),
    content: z
      .string()
      .describe(
        "The whole new text of the note (markdown, JSON, anything): it replaces the last version.",
      ),
    expected_version: versionSchema("expected_version")
      .optional()
      .describe(
        "Compare-and-set: write only if the note is at this version now (0: only if it does not exist yet). " +
          "A stale one is refused with VERSION_CONFLICT naming the current version and its author: get_note, merge, put again.",
      ),
    ttl_seconds: z
      .number()
      .int("`ttl_seconds` is a whole number of seconds")
      .min(1, "`ttl_seconds` is at least 1; leave it out to keep the note's expiry")
      .max(MAX_NOTE_TTL_SECONDS, `\`ttl_seconds\` is at most ${MAX_NOTE_TTL_SECONDS} (a year)`)
      .optional()
      .describe(
        `The note (all its versions) expires this many seconds after this write (1-${MAX_NOTE_TTL_SECONDS}). Left out: the note keeps the expiry it had (none for a new note).`,
      ),
  }),
  get_note: z.strictObject({
    key: NoteKeySchema.describe("The note's key."),
    version: versionSchema("version")
      .min(1, "`version` is 1 or more; leave it out for the latest")
      .optional()
      .describe(
        `An earlier version (the last ${NOTE_HISTORY_VERSIONS} are kept; note_history lists them). Left out: the latest.`,
      ),
  }),
  list_notes: z.strictObject({
    prefix: NotePrefixSchema.optional().describe(
      "Only notes whose key starts with this, e.g. `plans/`.",
    ),
  }),
  note_history: z.strictObject({
    key: NoteKeySchema.describe("The note's key."),
  }),
} as const;

/** NOT_FOUND for a note that does not exist (never written, or expired). */
export function noteNotFound(key: string): SwitchboardError {
  return new SwitchboardError(
    "NOT_FOUND",
    `no note with key '${key}' (never written, or expired); list_notes shows the notes there are, put_note writes one`,
    { field: "key" },
  );
}
