import { z } from "zod";
import { defineAgentTool } from "../tool.js";

export const unregisterAgentTool = defineAgentTool(
  {
    name: "unregister_agent",
    title: "Unregister",
    description:
      "Leave this Switchboard: your name, capabilities, topic subscriptions and token are removed, " +
      "and others can no longer send to you. Your inbox is not read for you; fetch it first if it matters.",
    output: {
      name: z.string().describe("The agent that was removed."),
      unregistered: z.literal(true),
    },
    annotations: { destructiveHint: true, idempotentHint: false, openWorldHint: false },
  },
  async ({ caller, deps: { service, identity } }) => {
    await service.unregister(caller.agent);
    identity.unbind(caller.agent);
    return {
      data: { name: caller.agent, unregistered: true as const },
      text: `unregistered ${caller.agent}; its token no longer works`,
      digestOf: null,
    };
  },
);
