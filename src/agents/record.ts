import type { z } from "zod";
import type { AgentRole, AgentStatus, AgentView, RegisterInputSchema } from "../protocol/agent.js";
import { AgentField } from "../redis/agent-fields.js";

// An agent's record (the hash at `Keys.agent`) as registration writes it and others see
// it. Its field names are AgentField's, which the Lua shares.

/**
 * The fields a registration writes: the agent comes online. Optional fields it leaves out
 * are deleted from the record (the register script does), so an update can drop them.
 */
export function registrationFields(
  r: z.output<typeof RegisterInputSchema>,
  now: number,
): (string | number)[] {
  const fields: (string | number)[] = [
    AgentField.name,
    r.name,
    AgentField.capabilities,
    JSON.stringify(r.capabilities),
    AgentField.status,
    "online" satisfies AgentStatus,
    AgentField.lastSeen,
    now,
  ];
  if (r.description !== undefined) fields.push(AgentField.description, r.description);
  if (r.metadata !== undefined) fields.push(AgentField.metadata, JSON.stringify(r.metadata));
  if (r.webhook_url !== undefined) fields.push(AgentField.webhookUrl, r.webhook_url);
  return fields;
}

/** The view of a record as HGETALL returns it; undefined for none (no such agent). */
export function toView(hash: Record<string, string>): AgentView | undefined {
  const name = hash[AgentField.name];
  if (name === undefined) return undefined;
  const metadata = hash[AgentField.metadata];
  const webhookUrl = hash[AgentField.webhookUrl];
  return {
    name,
    capabilities: JSON.parse(hash[AgentField.capabilities] ?? "[]") as string[],
    description: hash[AgentField.description],
    metadata:
      metadata === undefined ? undefined : (JSON.parse(metadata) as Record<string, unknown>),
    delivery: webhookUrl === undefined ? "pull" : "webhook",
    webhook_url: webhookUrl,
    status: (hash[AgentField.status] ?? "offline") as AgentStatus,
    role: hash[AgentField.role] as AgentRole | undefined,
    registered_at: new Date(Number(hash[AgentField.registeredAt])).toISOString(),
    last_seen: new Date(Number(hash[AgentField.lastSeen])).toISOString(),
  };
}
