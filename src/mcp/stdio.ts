import type { McpServer } from "@modelcontextprotocol/server";
import { serveStdio } from "@modelcontextprotocol/server/stdio";
import { SwitchboardError } from "../protocol/errors.js";
import type { Switchboard } from "../service/switchboard.js";
import type { Logger } from "../telemetry/log.js";
import { Identity, type Caller } from "./identity.js";
import { buildMcpServer } from "./server.js";
import { listenForInboxUpdates } from "./updates.js";

/**
 * A stdio process that could not become its agent (a token of another agent, an unknown
 * token, a name taken): it still serves MCP and answers `initialize`, and every tool call
 * (and resource read) returns the refusal, `CODE: message` with the fix, as an `isError`
 * result; the server's instructions carry it too. Why not fail `initialize`: Claude Code
 * then marks the server "failed" with little or no reason on screen (the reason goes to
 * its debug log; anthropics/claude-code#34744), Cursor likewise, and a failed server's
 * tools never reach the model. A tool result is shown to the user and read by the model,
 * which relays the fix; the MCP Inspector shows the result's text as it is.
 */
class RefusedIdentity extends Identity {
  readonly #refusal: SwitchboardError;

  constructor(service: Switchboard, refusal: SwitchboardError) {
    super(service, { remembers: false });
    this.#refusal = refusal;
  }

  override token(): Promise<string | undefined> {
    return Promise.reject(this.#refusal);
  }
}

/** Who a stdio process is: the agent it claimed at start, or the refusal it answers with. */
function stdioIdentity(service: Switchboard, claimed: Caller | SwitchboardError): Identity {
  return claimed instanceof SwitchboardError
    ? new RefusedIdentity(service, claimed)
    : new Identity(service, { remembers: true, bound: claimed });
}

export interface StdioFrontEnd {
  /** Resolves when the client closes stdin. */
  closed: Promise<void>;
  close(): Promise<void>;
}

/**
 * MCP over stdin/stdout for clients that spawn their server, as one agent (or, refused,
 * as none: see {@link RefusedIdentity}). Either era:
 * the first message picks it. Mail for the agent becomes `resources/updated` for its
 * inbox (2025: when subscribed; 2026: filtered by the client's listen request).
 */
export function serveStdioFrontEnd(
  service: Switchboard,
  claimed: Caller | SwitchboardError,
  log: Logger,
): StdioFrontEnd {
  const identity = stdioIdentity(service, claimed);
  const refusal = claimed instanceof SwitchboardError ? claimed : undefined;
  const instances = new Map<McpServer, { subscriptions: Set<string>; modern: boolean }>();
  const handle = serveStdio(
    (ctx) => {
      const subscriptions = new Set<string>();
      const server = buildMcpServer(service, identity, { log, subscriptions, refusal });
      instances.set(server, { subscriptions, modern: ctx.era === "modern" });
      server.server.onclose = () => instances.delete(server);
      return server;
    },
    { onerror: (error) => log.warn("mcp stdio error", { error: error.message }) },
  );
  const stopUpdates = listenForInboxUpdates(service, (agent, uri) => {
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
