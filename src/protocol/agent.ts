import { z } from "zod";
import { AgentNameSchema, CapabilitySchema } from "./envelope.js";

/** The name of Switchboard itself, as the sender of notices and events; no agent may take it. */
export const SYSTEM_AGENT = "switchboard";

export const AGENT_STATUSES = ["online", "idle", "offline"] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

/**
 * What an agent may do beyond messaging: `admin` calls the admin tools (dead letters).
 * Only an operator with access to Redis grants it (`switchboard agents admin NAME`).
 */
export const AGENT_ROLES = ["admin"] as const;
export type AgentRole = (typeof AGENT_ROLES)[number];

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
  metadata: z
    .record(z.string().max(64), z.json())
    .optional()
    .describe("Free-form JSON about you (model, repository, owner)."),
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
