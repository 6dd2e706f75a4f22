import { randomUUID } from "node:crypto";
import {
  isInitializeRequest,
  WebStandardStreamableHTTPServerTransport,
  type AuthInfo,
  type McpServer,
} from "@modelcontextprotocol/server";
import type { Logger } from "../telemetry/log.js";
import type { Identity } from "./identity.js";
import { SessionBudget, type SessionLimits } from "./session-budget.js";

export interface SessionOptions {
  /** Builds the server of a new session; it answers `resources/subscribe` into `subscriptions`. */
  build: (subscriptions: Set<string>) => { server: McpServer; identity: Identity };
  /** The agent a bearer token belongs to, if any. */
  agentOf: (token: string) => Promise<string | undefined>;
  limits: SessionLimits;
  log: Logger;
}

/** A 2025-era request, as the front end hands it on. */
export interface SessionRequest {
  authInfo: AuthInfo | undefined;
  /** The body, parsed once by the front end (undefined for GET and DELETE). */
  parsedBody: unknown;
  /** Where the request comes from, for the per-address budget of anonymous sessions. */
  address: string;
}

interface Session {
  transport: WebStandardStreamableHTTPServerTransport;
  server: McpServer;
  identity: Identity;
  subscriptions: Set<string>;
  lastSeen: number;
  /** The client address while the session is nobody; undefined once it is an agent. */
  anonymousFrom: string | undefined;
}

function jsonRpcError(status: number, code: number, message: string): Response {
  return Response.json({ jsonrpc: "2.0", error: { code, message }, id: null }, { status });
}

/**
 * 2025-11-25 sessions of this process (`Mcp-Session-Id`), each with its own server,
 * identity and resource subscriptions. A load balancer keeps a session on one process;
 * everything an agent owns lives in Redis, so a lost session costs a new `initialize`.
 * Sessions that are no agent yet live briefly, on a small budget of their own
 * ({@link SessionBudget}); one that presents a valid token or registers moves to the agents'.
 */
export class LegacySessions {
  readonly #sessions = new Map<string, Session>();
  readonly #o: SessionOptions;
  readonly #budget: SessionBudget;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: SessionOptions) {
    this.#o = options;
    this.#budget = new SessionBudget(options.limits);
    const shortest = Math.min(options.limits.idleMs, options.limits.anonymous.idleMs);
    this.#sweeper = setInterval(() => void this.#sweep(), Math.min(shortest / 2, 60_000));
    this.#sweeper.unref();
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** Serves a 2025-era request: to its session, or `initialize` opening a new one. */
  async fetch(
    request: Request,
    { authInfo, parsedBody, address }: SessionRequest,
  ): Promise<Response> {
    const id = request.headers.get("mcp-session-id");
    if (id !== null) return this.#serve(id, request, authInfo, parsedBody);
    if (request.method !== "POST" || !isInitializeRequest(parsedBody)) {
      return jsonRpcError(400, -32000, "Bad Request: No valid session ID provided");
    }
    const anonymousFrom = (await this.#presentsAgent(authInfo)) ? undefined : address;
    const refusal = this.#budget.take(anonymousFrom);
    if (refusal !== undefined) {
      this.#o.log.debug("mcp session refused", { address, reason: refusal.message });
      return jsonRpcError(refusal.status, -32000, refusal.message);
    }
    return this.#open(request, { parsedBody, authInfo }, anonymousFrom);
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

  async #serve(
    id: string,
    request: Request,
    authInfo: AuthInfo | undefined,
    parsedBody: unknown,
  ): Promise<Response> {
    const session = this.#sessions.get(id);
    if (session === undefined) return jsonRpcError(404, -32001, "Session not found");
    session.lastSeen = Date.now();
    const response = await session.transport.handleRequest(request, { parsedBody, authInfo });
    if (session.anonymousFrom !== undefined) await this.#promoteIfAgent(id, session, authInfo);
    return response;
  }

  /** Opens a session for an `initialize` whose place in the budget is taken. */
  async #open(
    request: Request,
    options: { parsedBody: unknown; authInfo: AuthInfo | undefined },
    anonymousFrom: string | undefined,
  ): Promise<Response> {
    const subscriptions = new Set<string>();
    const { server, identity } = this.#o.build(subscriptions);
    let opened = false;
    const transport: WebStandardStreamableHTTPServerTransport =
      new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        // A POST is answered with one JSON body, not an event stream: cheaper for both sides.
        // Notifications still reach the session over its GET stream.
        enableJsonResponse: true,
        onsessioninitialized: (id) => {
          opened = true;
          const session = { transport, server, identity, subscriptions, anonymousFrom };
          this.#sessions.set(id, { ...session, lastSeen: Date.now() });
          this.#o.log.debug("mcp session opened", {
            session: id,
            sessions: this.size,
            agent: anonymousFrom === undefined,
          });
        },
        onsessionclosed: (id) => this.#forget(id),
      });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) this.#forget(transport.sessionId);
    };
    try {
      await server.connect(transport);
      return await transport.handleRequest(request, options);
    } finally {
      if (!opened) {
        // Refused by the transport (a bad Accept header, say): its place goes back.
        this.#budget.release(anonymousFrom);
        server.close().catch(() => undefined);
      }
    }
  }

  /** Whether the request's bearer token is an agent's; a token that cannot be checked is not. */
  async #presentsAgent(authInfo: AuthInfo | undefined): Promise<boolean> {
    if (authInfo === undefined) return false;
    const agent = await this.#o.agentOf(authInfo.token).catch(() => undefined);
    return agent !== undefined;
  }

  /** An anonymous session that registered, or presented a valid token, moves budgets. */
  async #promoteIfAgent(id: string, session: Session, authInfo: AuthInfo | undefined) {
    const agent = session.identity.bound !== undefined || (await this.#presentsAgent(authInfo));
    const from = session.anonymousFrom;
    if (!agent || from === undefined || this.#sessions.get(id) !== session) return;
    if (this.#budget.promote(from)) {
      session.anonymousFrom = undefined;
      this.#o.log.debug("mcp session is an agent's", { session: id });
    } else {
      this.#o.log.warn("mcp session stays anonymous: no room for more agent sessions", {
        session: id,
        max: this.#o.limits.max,
      });
    }
  }

  /** Drops a closed session and gives its place back, once. */
  #forget(id: string): void {
    const session = this.#sessions.get(id);
    if (session === undefined) return;
    this.#sessions.delete(id);
    this.#budget.release(session.anonymousFrom);
  }

  async #sweep(): Promise<void> {
    const now = Date.now();
    const { idleMs, anonymous } = this.#o.limits;
    for (const [id, session] of this.#sessions) {
      const agent = session.anonymousFrom === undefined;
      const idle = agent ? idleMs : anonymous.idleMs;
      if (session.lastSeen > now - idle) continue;
      this.#forget(id);
      // Anonymous ones come and go by the hundred when someone floods the endpoint.
      this.#o.log[agent ? "info" : "debug"]("mcp session expired", { session: id, idleMs: idle });
      await session.server.close().catch(() => undefined);
    }
  }
}
