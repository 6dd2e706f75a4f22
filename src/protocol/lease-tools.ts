import { z } from "zod";
import { AgentNameSchema } from "./envelope.js";
import { UUID_V7_PATTERN } from "./ids.js";
import { MAX_RESOURCE_LENGTH, resourceProblem } from "./resource-glob.js";

/**
 * Input schemas of the lease tools (`acquire_lease`, `renew_lease`, `release_lease`,
 * `list_leases`, `break_lease`), part of `ToolInputs`.
 */

/** The longest a lease lasts before it must be renewed: an hour. @defaultValue 3600 */
export const MAX_LEASE_TTL_SECONDS = 3600;
/** The most resources one lease holds. @defaultValue 64 */
export const MAX_LEASE_RESOURCES = 64;
/** The longest `acquire_lease` waits for conflicts to clear: below the 60 s clients allow a call. */
export const MAX_LEASE_WAIT_SECONDS = 45;
/** The longest reason given for a lease or a break. */
export const MAX_LEASE_REASON = 256;

export const ResourceSchema = z
  .string()
  .max(MAX_RESOURCE_LENGTH, `a resource is at most ${MAX_RESOURCE_LENGTH} characters`)
  .superRefine((resource, ctx) => {
    const problem = resourceProblem(resource);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
  });

export const LeaseIdSchema = z
  .string()
  .regex(UUID_V7_PATTERN, "expected a lease id (the lease_id acquire_lease or list_leases gave)");

const ttlSchema = z
  .number()
  .int("ttl_seconds is a whole number of seconds")
  .min(1, "ttl_seconds is at least 1: a lease of 0 seconds would be gone at once")
  .max(
    MAX_LEASE_TTL_SECONDS,
    `ttl_seconds is at most ${MAX_LEASE_TTL_SECONDS} (an hour); renew_lease before it runs out to keep it longer`,
  );

const reasonSchema = z
  .string()
  .max(MAX_LEASE_REASON, `a reason is at most ${MAX_LEASE_REASON} characters`)
  .optional();

export const LeaseToolInputs = {
  acquire_lease: z.strictObject({
    resources: z
      .array(ResourceSchema)
      .min(
        1,
        "give at least one resource: a path (`src/auth/login.ts`), a glob (`src/auth/**`) or a name (`build-slot`)",
      )
      .max(
        MAX_LEASE_RESOURCES,
        `at most ${MAX_LEASE_RESOURCES} resources per lease; lease a glob such as \`src/auth/**\` instead`,
      )
      .describe(
        "What to lease: file paths, globs (`*` within a segment, `?` one character, `**` any number of segments, e.g. `src/auth/**`) or any name (`build-slot`). All or none are granted.",
      ),
    ttl_seconds: ttlSchema.describe(
      `How long the lease lasts (1-${MAX_LEASE_TTL_SECONDS} s) unless renewed; it is gone after, even if your process died.`,
    ),
    exclusive: z
      .boolean()
      .default(true)
      .describe(
        "true (default): no one else may hold an overlapping lease. false: shared; coexists with other shared leases.",
      ),
    reason: reasonSchema.describe("What you are doing, shown to whoever is refused."),
    wait_seconds: z
      .number()
      .min(0)
      .max(
        MAX_LEASE_WAIT_SECONDS,
        `wait at most ${MAX_LEASE_WAIT_SECONDS} seconds; call again to wait longer`,
      )
      .default(0)
      .describe(
        `If refused, wait up to this many seconds (max ${MAX_LEASE_WAIT_SECONDS}) for the conflicts to clear.`,
      ),
  }),
  renew_lease: z.strictObject({
    lease_id: LeaseIdSchema.describe("Your lease, from acquire_lease."),
    ttl_seconds: ttlSchema.describe(
      `The lease's new lifetime from now (1-${MAX_LEASE_TTL_SECONDS} s); the fencing token stays.`,
    ),
  }),
  release_lease: z.strictObject({
    lease_id: LeaseIdSchema.describe("Your lease, from acquire_lease."),
  }),
  list_leases: z.strictObject({
    resource: ResourceSchema.optional().describe(
      "Only leases on resources overlapping this path, glob or name.",
    ),
    holder: AgentNameSchema.optional().describe("Only leases of this agent."),
  }),
  break_lease: z.strictObject({
    lease_id: LeaseIdSchema.describe("The lease to end now (list_leases shows them)."),
    reason: reasonSchema.describe("Why, for the holder."),
  }),
} as const;
