import { McpServer } from "@modelcontextprotocol/server";
import type { SwitchboardError } from "../protocol/errors.js";
import type { Switchboard } from "../service/switchboard.js";
import type { Logger } from "../telemetry/log.js";
import { VERSION } from "../version.js";
import type { Identity } from "./identity.js";
import { answerInvalidParams } from "./invalid-params.js";
import { registerResources } from "./resources.js";
import type { ToolDeps, ToolRegistration } from "./tool.js";
import { TOOLS } from "./tools/index.js";

/** What the server calls itself in `initialize`; the version is the package's. */
export const SERVER_INFO = { name: "switchboard", version: VERSION } as const;

const INSTRUCTIONS = `Switchboard is a message bus between AI agents.
1. register_agent with a name (and capabilities) first; keep the token it returns. Over HTTP send it as \`Authorization: Bearer <token>\` to be the same agent in a new session.
2. send_message to agents (\`to\`), a capability, everyone (\`broadcast\`) or a \`topic\`; reply with \`reply_to\`.
3. fetch_inbox (long-poll with wait_seconds), handle each message, then ack_messages; unacked mail comes back.
Every result ends with your inbox digest (unread count, oldest waiting), so you learn of new mail on any call.`;

export interface BuildOptions {
  log: Logger;
  /**
   * The inbox URIs this connection subscribed to with `resources/subscribe`: given for
   * 2025-11-25 sessions and stdio, which receive `resources/updated` on that connection.
   */
  subscriptions?: Set<string>;
  /** Why this connection cannot be its agent (a refused stdio start), put before the instructions. */
  refusal?: SwitchboardError | undefined;
  /**
   * For a server that answers one `tools/call` and is dropped (a 2026-07-28 request): the
   * tool called. A known one is the only tool registered, and no resources are: building
   * the rest would be work for nothing. Unknown, it is answered as usual (all registered).
   */
  call?: string | undefined;
}

const BY_NAME: ReadonlyMap<string, ToolRegistration> = new Map(TOOLS.map((t) => [t.name, t]));

/** An MCP server with every Switchboard tool and resource, acting for `identity`'s caller. */
export function buildMcpServer(
  service: Switchboard,
  identity: Identity,
  options: BuildOptions,
): McpServer {
  const server = new McpServer(SERVER_INFO, {
    capabilities: {
      tools: { listChanged: false },
      resources: { subscribe: true, listChanged: false },
    },
    instructions:
      options.refusal === undefined
        ? INSTRUCTIONS
        : `${refusalNotice(options.refusal)}\n\n${INSTRUCTIONS}`,
  });
  const deps: ToolDeps = { service, identity, log: options.log };
  const called = options.call === undefined ? undefined : BY_NAME.get(options.call);
  if (called === undefined) {
    for (const tool of TOOLS) tool.register(server, deps);
    registerResources(server, deps, options.subscriptions);
  } else called.register(server, deps);
  answerInvalidParams(server);
  return server;
}

/** Tells the model (and whoever reads the instructions) why every tool call fails, and the fix. */
function refusalNotice(refusal: SwitchboardError): string {
  return (
    "THIS SERVER IS NOT CONNECTED AS AN AGENT: every tool call fails until the user fixes this, " +
    `so tell them: ${refusal.code}: ${refusal.message}`
  );
}
