import { z } from "zod";
import { AgentNameSchema, CapabilitySchema } from "./envelope.js";
import { SwitchboardError } from "./errors.js";
import { jsonValueSchema } from "./json-value.js";

/** The name of Switchboard itself, as the sender of notices and events; no agent may take it. */
export const SYSTEM_AGENT = "switchboard";

/** NOT_FOUND for an agent name no agent has, pointing at the directory. */
export function agentNotFound(name: string): SwitchboardError {
  return new SwitchboardError("NOT_FOUND", `no agent named '${name}'`, {
    field: "name",
    hint: "listAgents",
  });
}

export const AGENT_STATUSES = ["online", "idle", "offline"] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

/**
 * What an agent may do beyond messaging: `admin` calls the admin tools (dead letters).
 * Only an operator with access to Redis grants it (`switchboard agents admin NAME`).
 */
export const AGENT_ROLES = ["admin"] as const;
export type AgentRole = (typeof AGENT_ROLES)[number];

/** The most bytes an agent's `metadata` may have, as JSON: it is shown in every agent list. */
export const MAX_METADATA_BYTES = 4096;
/** The deepest a value in an agent's `metadata` may nest. */
export const MAX_METADATA_DEPTH = 16;

const MetadataSchema = z
  .record(z.string().max(64), jsonValueSchema(MAX_METADATA_DEPTH))
  .refine(
    (metadata) => Buffer.byteLength(JSON.stringify(metadata), "utf8") <= MAX_METADATA_BYTES,
    `metadata is at most ${MAX_METADATA_BYTES} bytes as JSON; keep a few short facts and link to the rest`,
  );

export const WebhookUrlSchema = z
  .url({
    protocol: /^https?$/,
    error: "expected an http:// or https:// URL, such as https://bot.example.com/hook",
  })
  .max(2048);

export const RegisterInputSchema = z.strictObject({
  name: AgentNameSchema.refine(
    (name) => name !== SYSTEM_AGENT,
    `'${SYSTEM_AGENT}' is reserved; choose another name`,
  ).describe(
    "Your agent name, unique in this Switchboard: letters, digits, '.', '_', '-'. Others send to you by it.",
  ),
  capabilities: z
    .array(CapabilitySchema)
    .max(64, "at most 64 capabilities")
    .default([])
    .describe(
      'What you can do, e.g. ["code-review", "python@3.12"]; messages sent to a capability reach you.',
    ),
  description: z
    .string()
    .max(1024)
    .optional()
    .describe("A sentence on who you are and what you do, shown to other agents."),
  metadata: MetadataSchema.optional().describe(
    "Free-form JSON about you (model, repository, owner).",
  ),
  webhook_url: WebhookUrlSchema.optional().describe(
    "Where messages are POSTed for push delivery; omit to fetch your inbox (pull).",
  ),
});

export type RegisterInput = z.input<typeof RegisterInputSchema>;

/** An agent as others see it. */
export interface AgentView {
  name: string;
  capabilities: string[];
  description: string | undefined;
  metadata: Record<string, unknown> | undefined;
  delivery: "pull" | "webhook";
  webhook_url: string | undefined;
  status: AgentStatus;
  /** Absent for an ordinary agent. */
  role?: AgentRole | undefined;
  registered_at: string;
  last_seen: string;
}
