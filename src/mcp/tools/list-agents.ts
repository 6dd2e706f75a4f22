import { z } from "zod";
import { AgentSchema } from "../schemas.js";
import { namesText } from "../text.js";
import { defineOpenTool } from "../tool.js";

export const listAgentsTool = defineOpenTool(
  {
    name: "list_agents",
    title: "List agents",
    description:
      "Who is registered: names, capabilities, descriptions and status (online, idle, offline). " +
      "Filter by a capability or a status. Needs no registration.",
    output: {
      agents: z.array(AgentSchema),
      count: z.number().int(),
    },
    annotations: { readOnlyHint: true, openWorldHint: false },
  },
  async ({ input, deps: { service } }) => {
    const agents = await service.registry.list({
      capability: input.capability,
      status: input.status,
    });
    const names = namesText(
      agents.map((a) => `${a.name} (${a.status})`),
      20,
    );
    return {
      data: { agents, count: agents.length },
      text: agents.length === 0 ? "no agents" : `${agents.length} agents: ${names}`,
    };
  },
);
