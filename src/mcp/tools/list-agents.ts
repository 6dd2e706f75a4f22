import { ToolOutputs } from "../../protocol/tool-outputs.js";
import { namesText } from "../text.js";
import { defineAgentTool } from "../tool.js";
import { plural } from "../../protocol/words.js";

export const listAgentsTool = defineAgentTool(
  {
    name: "list_agents",
    title: "List agents",
    description:
      "Who is registered: names, capabilities, descriptions and status (online, idle, offline). " +
      "Filter by a capability or a status. A webhook URL shows whole to its owner and to admins, " +
      "as its origin to others.",
    output: ToolOutputs.list_agents,
    annotations: { readOnlyHint: true, openWorldHint: false },
  },
  async ({ input, caller, deps: { service } }) => {
    const agents = await service.listAgents(caller.agent, {
      capability: input.capability,
      status: input.status,
    });
    const names = namesText(
      agents.map((a) => `${a.name} (${a.status})`),
      20,
    );
    return {
      data: { agents, count: agents.length },
      text: agents.length === 0 ? "no agents" : `${plural(agents.length, "agent")}: ${names}`,
    };
  },
);
