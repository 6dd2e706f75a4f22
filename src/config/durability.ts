import { z } from "zod";
import { positiveInt } from "./fields.js";

/** What an acknowledged write is held to: see `docs/ARCHITECTURE.md`, "Durability". */
export const DURABILITY_MODES = ["local", "replicated"] as const;
export type DurabilityMode = (typeof DURABILITY_MODES)[number];

/**
 * The longest `durability.timeoutMs`: a send waits this long at most before it is refused,
 * and a deliver batch before it is retried.
 * @defaultValue 60000
 */
export const MAX_REPLICA_TIMEOUT_MS = 60_000;

const DurabilityBlockSchema = z.strictObject(
  {
    /** local: a write counts once the master has it; replicated: once `replicas` replicas have it too. */
    mode: z
      .enum(DURABILITY_MODES, {
        error: (issue) =>
          `expected \`local\` or \`replicated\`, got ${JSON.stringify(issue.input) ?? "nothing"}`,
      })
      .default("local"),
    /** How many replicas must confirm a write (`WAIT numreplicas`). */
    replicas: positiveInt("replicas").default(1),
    /** How long to wait for them (`WAIT … timeout`) before the write counts as unconfirmed. */
    timeoutMs: positiveInt("milliseconds")
      .max(MAX_REPLICA_TIMEOUT_MS, {
        error: `at most ${MAX_REPLICA_TIMEOUT_MS} ms: a send waits this long before it is refused`,
      })
      .default(1000),
  },
  {
    error: (issue) =>
      issue.code === "invalid_type"
        ? `expected \`local\`, \`replicated\` or a block {mode, replicas, timeoutMs}, got ${JSON.stringify(issue.input)}`
        : undefined,
  },
);

/**
 * `durability`: `local` (the default) or `replicated`, or the block `{mode, replicas,
 * timeoutMs}`. Replicated makes a send wait for `replicas` replicas before it answers
 * `accepted`, and deliver before it counts a message delivered to an inbox.
 */
export const DurabilitySchema = z.preprocess(
  (input) => (input === undefined ? {} : typeof input === "string" ? { mode: input } : input),
  DurabilityBlockSchema,
);

export type Durability = z.infer<typeof DurabilityBlockSchema>;
