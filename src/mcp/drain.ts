import type { IncomingMessage, ServerResponse } from "node:http";
import { READYZ_PATH } from "../health/probes.js";

/** Why a draining front end refuses work, in `/readyz` and in the JSON-RPC error. */
export const SHUTTING_DOWN = "shutting down: this front end takes no new requests";

/** JSON-RPC's "server error" range, as the SDK uses for transport-level refusals. */
const SERVER_ERROR = -32000;

/** How often {@link Drain.settled} looks whether the requests under way have answered. */
const SETTLE_CHECK_MS = 50;

/**
 * A front end's drain on shutdown: from {@link begin} on, `/readyz` answers 503 (so load
 * balancers stop sending) and new MCP requests get 503 with a JSON-RPC error saying so,
 * while the requests already under way finish; {@link settled} tells when they have.
 * `/healthz` and `/metrics` are answered as before: the process is alive.
 *
 * A request is under way until its answer starts: a tool call's response begins when its
 * result is ready, while a stream (a 2026-era `subscriptions/listen`, a progress stream)
 * begins at once and never ends by itself, so it does not hold the drain; it is closed
 * with the connections afterwards.
 */
export class Drain {
  #draining = false;
  readonly #open = new Set<ServerResponse>();

  /**
   * The hook at the top of the request handler: true when it answered the request (a
   * refusal while draining); false to go on, keeping an MCP POST until its response ends.
   */
  refuses(req: IncomingMessage, res: ServerResponse, path: string, mcpPath: string): boolean {
    if (this.#draining) {
      if (path === READYZ_PATH) {
        return answer(res, { ready: false, problems: [SHUTTING_DOWN], status: null });
      }
      if (path === mcpPath) {
        return answer(res, {
          jsonrpc: "2.0",
          error: { code: SERVER_ERROR, message: `${SHUTTING_DOWN}; retry on another instance` },
          id: null,
        });
      }
      return false;
    }
    if (path === mcpPath && req.method === "POST") this.hold(res);
    return false;
  }

  /** Counts a request as under way until its answer starts (the HTTP API's, for one). */
  hold(res: ServerResponse): void {
    this.#open.add(res);
    res.once("close", () => this.#open.delete(res));
  }

  /** Refuses new work from now on. */
  begin(): void {
    this.#draining = true;
  }

  /** Resolves true once every MCP request under way has answered, false when `ms` ran out first. */
  async settled(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while ([...this.#open].some((res) => !res.headersSent)) {
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, SETTLE_CHECK_MS));
    }
    return true;
  }
}

/** 503 with a JSON body, closing the connection: a draining process keeps none open. */
function answer(res: ServerResponse, body: unknown): true {
  res
    .writeHead(503, { "content-type": "application/json", connection: "close" })
    .end(res.req.method === "HEAD" ? "" : JSON.stringify(body));
  return true;
}
