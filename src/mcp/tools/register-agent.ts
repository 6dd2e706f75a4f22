import type { ServerContext } from "@modelcontextprotocol/server";
import { SwitchboardError } from "../../protocol/errors.js";
import type { Caller, Identity } from "../identity.js";
import { ToolOutputs } from "../../protocol/tool-outputs.js";
import { defineOpenTool } from "../tool.js";

export const registerAgentTool = defineOpenTool(
  {
    name: "register_agent",
    title: "Register as an agent",
    description:
      "Join this Switchboard under a name (or update your own registration: capabilities, description, webhook). " +
      "Call it first: every other tool and resource acts as the agent registered here, and refuses callers that are not agents. " +
      "Returns a token: present it (`Authorization: Bearer <token>` over HTTP, SWITCHBOARD_TOKEN for stdio) " +
      "so a new session or process is the same agent. A name someone else registered is refused, " +
      "and so is a token Switchboard did not mint for you: present none to register a new name.",
    output: ToolOutputs.register_agent,
    annotations: { idempotentHint: true, destructiveHint: false, openWorldHint: false },
  },
  async ({ input, caller, ctx, deps: { service, identity } }) => {
    const token = ownToken(identity, ctx, caller);
    const current = caller?.agent;
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

/**
 * The token register_agent proves ownership with: the one presented (an unknown one is
 * refused by the registry, never adopted), else the one this connection remembers, unless
 * its agent was unregistered elsewhere: then the connection is nobody again and may register.
 */
function ownToken(
  identity: Identity,
  ctx: ServerContext,
  caller: Caller | undefined,
): string | undefined {
  const presented = ctx.http?.authInfo?.token;
  if (presented !== undefined || caller !== undefined) return presented ?? caller?.token;
  const stale = identity.bound;
  if (stale !== undefined) identity.unbind(stale.agent);
  return undefined;
}
