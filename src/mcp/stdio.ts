import type { McpServer } from "@modelcontextprotocol/server";
import { serveStdio } from "@modelcontextprotocol/server/stdio";
import { SwitchboardError } from "../protocol/errors.js";
import type { Switchboard } from "../service/switchboard.js";
import type { Logger } from "../telemetry/log.js";
import { Identity, type Caller } from "./identity.js";
import { buildMcpServer } from "./server.js";
import { listenForInboxUpdates } from "./updates.js";

export interface StdioIdentityOptions {
  agent: string;
  /** Given: the registration is updated to these; omitted: kept as it is. */
  capabilities?: string[];
  /** From SWITCHBOARD_TOKEN. */
  token?: string;
}

/**
 * Who a stdio process is. With a token: the agent it belongs to (which must be `agent`),
 * checked now; a token that belongs to nobody is refused (only the server mints tokens). Without one:
 * the name is registered on the first call that needs it (not at start, so a client's
 * short-lived probe process registers nothing), and the new token is handed to
 * `announce` so the user can keep it.
 */
export async function stdioIdentity(
  service: Switchboard,
  options: StdioIdentityOptions,
  announce: (token: string) => void,
): Promise<Identity> {
  const { agent, capabilities, token } = options;
  if (token === undefined) {
    const pending = async (): Promise<Caller> => {
      const registration = await service.register({ name: agent, capabilities });
      announce(registration.token);
      return { agent, token: registration.token };
    };
    return new Identity(service, { remembers: true, pending });
  }
  const identity = new Identity(service, { remembers: true, bound: { agent, token } });
  const owner = await identity.agentOf(token);
  if (owner !== undefined && owner !== agent) {
    throw new SwitchboardError(
      "UNAUTHENTICATED",
      `SWITCHBOARD_TOKEN belongs to agent '${owner}', not '${agent}'; start with --agent ${owner} or another token`,
      { field: "SWITCHBOARD_TOKEN" },
    );
  }
  if (owner === undefined) {
    throw new SwitchboardError(
      "UNAUTHENTICATED",
      `SWITCHBOARD_TOKEN belongs to no agent (unregistered, mistyped, or not minted by Switchboard); ` +
        `unset it to register '${agent}' and get a token, or set the token its registration returned`,
      { field: "SWITCHBOARD_TOKEN" },
    );
  }
  if (capabilities !== undefined) {
    await service.register({ name: agent, capabilities }, token);
  } else {
    await service.touch(agent);
  }
  return identity;
}

export interface StdioFrontEnd {
  /** Resolves when the client closes stdin. */
  closed: Promise<void>;
  close(): Promise<void>;
}

/**
 * MCP over stdin/stdout for clients that spawn their server, as one agent. Either era:
 * the first message picks it. Mail for the agent becomes `resources/updated` for its
 * inbox (2025: when subscribed; 2026: filtered by the client's listen request).
 */
export function serveStdioFrontEnd(
  service: Switchboard,
  identity: Identity,
  log: Logger,
): StdioFrontEnd {
  const instances = new Map<McpServer, { subscriptions: Set<string>; modern: boolean }>();
  const handle = serveStdio(
    (ctx) => {
      const subscriptions = new Set<string>();
      const server = buildMcpServer(service, identity, { log, subscriptions });
      instances.set(server, { subscriptions, modern: ctx.era === "modern" });
      server.server.onclose = () => instances.delete(server);
      return server;
    },
    { onerror: (error) => log.warn("mcp stdio error", { error: error.message }) },
  );
  const stopUpdates = listenForInboxUpdates(service.mail, (agent, uri) => {
    if (identity.bound?.agent !== agent) return;
    for (const [server, { subscriptions, modern }] of instances) {
      if (modern || subscriptions.has(uri)) {
        server.server.sendResourceUpdated({ uri }).catch(() => undefined);
      }
    }
  });
  const closed = new Promise<void>((resolve) => {
    process.stdin.once("end", resolve);
    process.stdin.once("close", resolve);
  });
  return {
    closed,
    close: async () => {
      stopUpdates();
      await handle.close();
    },
  };
}
