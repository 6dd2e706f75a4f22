import { z } from "zod";
import { AGENT_STATUSES } from "../../protocol/agent.js";
import { defineAgentTool } from "../tool.js";

export const heartbeatTool = defineAgentTool(
  {
    name: "heartbeat",
    title: "Heartbeat",
    description:
      "Say you are alive without doing anything else: you stay `online` (agents not heard from turn idle, " +
      "then offline). Any other call counts too. Returns your inbox digest.",
    output: {
      name: z.string(),
      status: z.enum(AGENT_STATUSES),
      last_seen: z.string().describe("ISO 8601."),
    },
    annotations: { readOnlyHint: false, idempotentHint: true, openWorldHint: false },
    keepsInbox: () => true,
  },
  async ({ caller, deps: { service } }) => {
    const agent = await service.agent(caller.agent);
    return {
      data: { name: agent.name, status: agent.status, last_seen: agent.last_seen },
      text: `${agent.name} is ${agent.status}`,
    };
  },
);
