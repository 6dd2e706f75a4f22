import { randomUUID } from "node:crypto";
import {
  isInitializeRequest,
  WebStandardStreamableHTTPServerTransport,
  type AuthInfo,
  type McpServer,
} from "@modelcontextprotocol/server";
import type { Logger } from "../telemetry/log.js";

export interface SessionOptions {
  /** Builds the server of a new session; it answers `resources/subscribe` into `subscriptions`. */
  build: (subscriptions: Set<string>) => McpServer;
  /** A session not heard from for this long is closed. */
  idleMs: number;
  maxSessions: number;
  log: Logger;
}

interface Session {
  transport: WebStandardStreamableHTTPServerTransport;
  server: McpServer;
  subscriptions: Set<string>;
  lastSeen: number;
}

function jsonRpcError(status: number, code: number, message: string): Response {
  return Response.json({ jsonrpc: "2.0", error: { code, message }, id: null }, { status });
}

/**
 * 2025-11-25 sessions of this process (`Mcp-Session-Id`), each with its own server,
 * identity and resource subscriptions. A load balancer keeps a session on one process;
 * everything an agent owns lives in Redis, so a lost session costs a new `initialize`.
 */
export class LegacySessions {
  readonly #sessions = new Map<string, Session>();
  readonly #o: SessionOptions;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: SessionOptions) {
    this.#o = options;
    this.#sweeper = setInterval(() => void this.#sweep(), Math.min(options.idleMs / 2, 60_000));
    this.#sweeper.unref();
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** Serves a 2025-era request: to its session, or `initialize` opening a new one. */
  async fetch(
    request: Request,
    authInfo: AuthInfo | undefined,
    parsedBody: unknown,
  ): Promise<Response> {
    const id = request.headers.get("mcp-session-id");
    if (id !== null) {
      const session = this.#sessions.get(id);
      if (session === undefined) return jsonRpcError(404, -32001, "Session not found");
      session.lastSeen = Date.now();
      return session.transport.handleRequest(request, { parsedBody, authInfo });
    }
    if (request.method !== "POST" || !isInitializeRequest(parsedBody)) {
      return jsonRpcError(400, -32000, "Bad Request: No valid session ID provided");
    }
    if (this.#sessions.size >= this.#o.maxSessions) {
      return jsonRpcError(503, -32000, "Too many sessions on this server; try again later");
    }
    const transport = await this.#open();
    return transport.handleRequest(request, { parsedBody, authInfo });
  }

  /** Sends `notifications/resources/updated` to the sessions subscribed to `uri`. */
  notify(uri: string): void {
    for (const session of this.#sessions.values()) {
      if (!session.subscriptions.has(uri)) continue;
      session.server.server.sendResourceUpdated({ uri }).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.allSettled(sessions.map((session) => session.server.close()));
  }

  async #open(): Promise<WebStandardStreamableHTTPServerTransport> {
    const subscriptions = new Set<string>();
    const server = this.#o.build(subscriptions);
    const transport: WebStandardStreamableHTTPServerTransport =
      new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        // A POST is answered with one JSON body, not an event stream: cheaper for both sides.
        // Notifications still reach the session over its GET stream.
        enableJsonResponse: true,
        onsessioninitialized: (id) => {
          this.#sessions.set(id, { transport, server, subscriptions, lastSeen: Date.now() });
          this.#o.log.debug("mcp session opened", { session: id, sessions: this.size });
        },
        onsessionclosed: (id) => {
          this.#sessions.delete(id);
        },
      });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) this.#sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    return transport;
  }

  async #sweep(): Promise<void> {
    const cutoff = Date.now() - this.#o.idleMs;
    for (const [id, session] of this.#sessions) {
      if (session.lastSeen > cutoff) continue;
      this.#sessions.delete(id);
      this.#o.log.info("mcp session expired", { session: id, idleMs: this.#o.idleMs });
      await session.server.close().catch(() => undefined);
    }
  }
}
