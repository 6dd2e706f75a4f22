import { z } from "zod";
import { SwitchboardError } from "../../protocol/errors.js";
import { AgentSchema } from "../schemas.js";
import { defineOpenTool } from "../tool.js";

export const registerAgentTool = defineOpenTool(
  {
    name: "register_agent",
    title: "Register as an agent",
    description:
      "Join this Switchboard under a name (or update your own registration: capabilities, description, webhook). " +
      "Call it first: every other tool but list_agents acts as the agent registered here. " +
      "Returns a token: present it (`Authorization: Bearer <token>` over HTTP, SWITCHBOARD_TOKEN for stdio) " +
      "so a new session or process is the same agent. A name someone else registered is refused.",
    output: {
      name: z.string().describe("Your agent name."),
      token: z
        .string()
        .describe("Keep it: present it to act as this agent from another session or process."),
      created: z.boolean().describe("True when the name was new; false when it was updated."),
      webhook_secret: z
        .string()
        .optional()
        .describe(
          "With a webhook_url: the secret each POST is signed with (x-switchboard-signature); verify it in your receiver.",
        ),
      agent: AgentSchema,
    },
    annotations: { idempotentHint: true, destructiveHint: false, openWorldHint: false },
  },
  async ({ input, ctx, deps: { service, identity } }) => {
    const token = await identity.token(ctx);
    const current = token === undefined ? undefined : await identity.agentOf(token);
    if (current !== undefined && current !== input.name) {
      throw new SwitchboardError(
        "INVALID_INPUT",
        `this connection is agent '${current}' (by its token), so register_agent here can only update '${current}'; ` +
          `to be '${input.name}', use another session or process without that token`,
        { field: "name" },
      );
    }
    const registration = await service.register(input, token);
    identity.bind({ agent: registration.agent.name, token: registration.token });
    const verb = registration.created ? "registered" : "updated";
    const keep = identity.remembers
      ? "this session acts as it from now on"
      : "present it as `Authorization: Bearer …` on every request";
    return {
      data: {
        name: registration.agent.name,
        token: registration.token,
        created: registration.created,
        ...(registration.webhook_secret === undefined
          ? {}
          : { webhook_secret: registration.webhook_secret }),
        agent: registration.agent,
      },
      text: `${verb} ${registration.agent.name}; token ${registration.token} (${keep})`,
      digestOf: registration.agent.name,
    };
  },
);
