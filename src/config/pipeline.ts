import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { describeIssues, firstIssuePath } from "../protocol/issues.js";
import type { ErrorCategory } from "../protocol/errors.js";
import { AgentsSchema, InboxSchema, RoutingSchema, WebhooksSchema } from "./delivery.js";
import {
  DEFAULT_RETRIES,
  DEFAULT_STRATEGIES,
  ErrorsSchema,
  RetriesSchema,
  type Strategy,
} from "./failure-policy.js";
import { HealthSchema, HttpSchema } from "./http.js";
import { DurabilitySchema } from "./durability.js";
import { OrderingSchema, OwnershipSchema, PartitionsSchema } from "./partitions.js";
import { checkInvariants, configError } from "./invariants.js";
import { LoopsSchema } from "./loops.js";
import { DeadLettersSchema, DedupeSchema, HistorySchema, LimitsSchema } from "./limits.js";
import {
  resolveStages,
  StageDefaultsSchema,
  StagesSchema,
  type StageDefinition,
  type StageName,
} from "./stages.js";

/*
 * The pipeline: the stage chain and its configuration, read from one file. This module
 * reads and checks it; each block's schema lives in the module of its subject, and the
 * names the rest of the code uses are exported from here.
 */
export { MAX_CONCURRENCY, STAGE_NAMES, type StageDefinition, type StageName } from "./stages.js";
export { DEFAULT_MAX_BODY_DEPTH, DEFAULT_SEND_RATE } from "./limits.js";
export { MAX_PARTITIONS } from "./partitions.js";
export { DEFAULT_LOOP_BUDGETS, type LoopBudget } from "./loops.js";
export type { Durability, DurabilityMode } from "./durability.js";
export type { RetryPolicy, Strategy } from "./failure-policy.js";
export type { RoutingRule } from "./delivery.js";
export type { HttpLimits } from "./http.js";

/** The pipeline file used when none is named: `pipelines/default.yaml` of the package. */
export const DEFAULT_PIPELINE_FILE = fileURLToPath(
  new URL("../../pipelines/default.yaml", import.meta.url),
);

const PipelineFileSchema = z.strictObject({
  version: z.literal(1, { error: "expected `version: 1`" }),
  partitions: PartitionsSchema,
  ordering: OrderingSchema,
  ownership: OwnershipSchema.prefault({}),
  durability: DurabilitySchema,
  defaults: StageDefaultsSchema.prefault({}),
  stages: StagesSchema.prefault({}),
  limits: LimitsSchema.prefault({}),
  dedupe: DedupeSchema.prefault({}),
  history: HistorySchema.prefault({}),
  health: HealthSchema.prefault({}),
  agents: AgentsSchema.prefault({}),
  inbox: InboxSchema.prefault({}),
  routing: RoutingSchema.prefault({}),
  deadLetters: DeadLettersSchema.prefault({}),
  retries: RetriesSchema,
  errors: ErrorsSchema.prefault({}),
  webhooks: WebhooksSchema.prefault({}),
  http: HttpSchema.prefault({}),
  loops: LoopsSchema.prefault({}),
});

type PipelineFile = z.infer<typeof PipelineFileSchema>;

/**
 * A checked pipeline: every block of the file with its defaults filled in, each stage
 * resolved from `defaults` and its own overrides, every error category given a strategy.
 */
export interface Pipeline extends Omit<PipelineFile, "version" | "defaults" | "stages" | "errors"> {
  /** Where it was read from, for messages. */
  source: string;
  stages: Readonly<Record<StageName, StageDefinition>>;
  errors: Omit<PipelineFile["errors"], "strategies"> & {
    strategies: Readonly<Record<ErrorCategory, Strategy>>;
  };
}

/** Validates a parsed pipeline document; `source` names it in errors. */
export function parsePipeline(document: unknown, source: string): Pipeline {
  const result = PipelineFileSchema.safeParse(document);
  if (!result.success) {
    throw configError(source, describeIssues(result.error), firstIssuePath(result.error));
  }
  const { version, defaults, stages, retries, errors, ...blocks } = result.data;
  const pipeline: Pipeline = {
    source,
    stages: resolveStages(defaults, stages),
    ...blocks,
    retries: { ...DEFAULT_RETRIES, ...retries },
    errors: { ...errors, strategies: { ...DEFAULT_STRATEGIES, ...errors.strategies } },
  };
  checkInvariants(pipeline);
  return Object.freeze(pipeline);
}

/** Reads, parses and validates a pipeline file (YAML or JSON). */
export function loadPipeline(file: string = DEFAULT_PIPELINE_FILE): Pipeline {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw configError(file, `cannot read the pipeline file: ${(error as Error).message}`);
  }
  let document: unknown;
  try {
    document = parseYaml(text, { prettyErrors: true });
  } catch (error) {
    throw configError(file, `not valid YAML: ${(error as Error).message}`);
  }
  return parsePipeline(document, file);
}
