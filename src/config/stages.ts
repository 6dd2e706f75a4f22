import { z } from "zod";
import { positiveInt, streamName } from "./fields.js";

/** The stages, in the order a message moves through them. */
export const STAGE_NAMES = ["validate", "route", "deliver", "persist"] as const;
export type StageName = (typeof STAGE_NAMES)[number];

/** The most consumer loops one stage may run in one process (`concurrency`, `--concurrency`). */
export const MAX_CONCURRENCY = 64;

const RetentionSchema = z.strictObject({
  /** Acknowledged entries older than this are trimmed; pending ones never are. */
  maxAgeMs: positiveInt("milliseconds").default(300_000),
});

/**
 * The tuning every stage has, declared once with its defaults: `defaults` in a pipeline
 * file sets it for all stages, and a stage may override any field. The override schema,
 * the resolved {@link StageDefinition} and its type are derived from this table.
 */
const STAGE_TUNING = {
  /** Entries read per `XREADGROUP`. */
  batchSize: positiveInt("entries per read").max(10_000).default(128),
  /** How long one `XREADGROUP` blocks waiting for entries. */
  blockMs: positiveInt("milliseconds").max(60_000).default(2000),
  /** Consumer loops of this stage in each process that runs it. */
  concurrency: positiveInt("consumer loops").max(MAX_CONCURRENCY).default(1),
  /** A pending entry idle this long is taken over from its consumer. */
  claimIdleMs: positiveInt("milliseconds").default(30_000),
  /** How often the janitor looks for idle pending entries, gone consumers and what to trim. */
  janitorIntervalMs: positiveInt("milliseconds").default(5000),
  /** An entry handed out more times than this is dead-lettered as poison. */
  maxDeliveries: positiveInt("deliveries").max(1000).default(5),
  retention: RetentionSchema.prefault({}),
};

/** Each field of a shape as it is without its default, optional. */
type WithoutDefaults<S extends Record<string, z.ZodDefault | z.ZodPrefault>> = {
  [K in keyof S]: z.ZodOptional<ReturnType<S[K]["unwrap"]>>;
};

/** The fields of {@link STAGE_TUNING} without their defaults: a stage's own value, or none. */
function withoutDefaults<S extends Record<string, z.ZodDefault | z.ZodPrefault>>(
  shape: S,
): WithoutDefaults<S> {
  return Object.fromEntries(
    Object.entries(shape).map(([field, schema]) => [
      field,
      (schema.unwrap() as z.ZodType).optional(),
    ]),
  ) as WithoutDefaults<S>;
}

/** The `defaults` block: every tuning field, each with its default. */
export const StageDefaultsSchema = z.strictObject(STAGE_TUNING);
export type StageTuning = z.output<typeof StageDefaultsSchema>;

const StageOverrideSchema = z.strictObject({
  stream: streamName.optional(),
  group: streamName.optional(),
  ...withoutDefaults(STAGE_TUNING),
});
type StageOverride = z.output<typeof StageOverrideSchema>;

/** The `stages` block: one optional override per stage, no other names. */
export const StagesSchema = z.strictObject(
  Object.fromEntries(STAGE_NAMES.map((name) => [name, StageOverrideSchema.prefault({})])) as Record<
    StageName,
    z.ZodPrefault<typeof StageOverrideSchema>
  >,
  {
    error: (issue) =>
      issue.code === "unrecognized_keys"
        ? `unknown stage ${issue.keys.map((k) => `'${k}'`).join(", ")}; the stages are ${STAGE_NAMES.join(", ")}`
        : undefined,
  },
);

/** A stage as it runs: its names in Redis, its place in the chain and its tuning. */
export interface StageDefinition extends StageTuning {
  name: StageName;
  stream: string;
  group: string;
  /** The stream this stage forwards to, if any. */
  next: StageName | undefined;
}

/** Each stage's definition: its own overrides over `defaults`, a stream and group of its name. */
export function resolveStages(
  defaults: StageTuning,
  overrides: Readonly<Record<StageName, StageOverride>>,
): Record<StageName, StageDefinition> {
  const stages = {} as Record<StageName, StageDefinition>;
  STAGE_NAMES.forEach((name, index) => {
    const { stream, group, ...tuning } = overrides[name];
    // A field given as undefined (by code; YAML cannot) keeps the default, as if absent.
    const own = Object.fromEntries(
      Object.entries(tuning).filter(([, value]) => value !== undefined),
    ) as Partial<StageTuning>;
    stages[name] = {
      name,
      stream: stream ?? name,
      group: group ?? name,
      next: STAGE_NAMES[index + 1],
      ...defaults,
      ...own,
    };
  });
  return stages;
}
