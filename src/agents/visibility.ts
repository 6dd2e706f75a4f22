import type { AgentStatus, AgentView } from "../protocol/agent.js";
import type { Registry } from "./registry.js";

/** Who looks at the directory: an agent, and whether it is an admin. */
export interface Viewer {
  name: string;
  admin: boolean;
}

/**
 * An agent as `viewer` sees it: the webhook URL whole to its owner and to admins, to
 * anyone else only its origin (`https://host:port`), since a path, a query string or
 * user info can hold a secret.
 */
export function agentSeenBy(agent: AgentView, viewer: Viewer): AgentView {
  if (agent.webhook_url === undefined || viewer.admin || viewer.name === agent.name) return agent;
  return { ...agent, webhook_url: originOf(agent.webhook_url) };
}

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined; // registration checks URLs, so this is a record written by hand
  }
}

/** Who is registered, as the agent `viewer` may see them. */
export async function directorySeenBy(
  registry: Registry,
  viewer: string,
  filter: { capability?: string | undefined; status?: AgentStatus | undefined } = {},
): Promise<AgentView[]> {
  const [agents, self] = await Promise.all([registry.list(filter), registry.get(viewer)]);
  const seer = { name: viewer, admin: self?.role === "admin" };
  return agents.map((agent) => agentSeenBy(agent, seer));
}
