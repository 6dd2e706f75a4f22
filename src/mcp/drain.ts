import type { IncomingMessage, ServerResponse } from "node:http";
import { READYZ_PATH } from "../health/probes.js";

/** Why a draining front end refuses work, in `/readyz` and in the JSON-RPC error. */
export const SHUTTING_DOWN = "shutting down: this front end takes no new requests";

/** JSON-RPC's "server error" range, as the SDK uses for transport-level refusals. */
const SERVER_ERROR = -32000;

/**
 * A front end's drain on shutdown: from {@link begin} on, `/readyz` answers 503 (so load
 * balancers stop sending) and new MCP requests get 503 with a JSON-RPC error saying so,
 * while the requests already under way finish; {@link settled} tells when they have.
 * `/healthz` and `/metrics` are answered as before: the process is alive.
 */
export class Drain {
  #draining = false;
  #inFlight = 0;
  #idle: (() => void)[] = [];

  get draining(): boolean {
    return this.#draining;
  }

  /**
   * The hook at the top of the request handler: true when it answered the request (a
   * refusal while draining); false to go on, counting an MCP POST until its response ends.
   */
  refuses(req: IncomingMessage, res: ServerResponse, path: string, mcpPath: string): boolean {
    if (this.#draining) {
      if (path === READYZ_PATH)
        return answer(res, { ready: false, problems: [SHUTTING_DOWN], status: null });
      if (path === mcpPath) {
        return answer(res, {
          jsonrpc: "2.0",
          error: { code: SERVER_ERROR, message: `${SHUTTING_DOWN}; retry on another instance` },
          id: null,
        });
      }
      return false;
    }
    if (path === mcpPath && req.method === "POST") {
      this.#inFlight += 1;
      res.once("close", () => this.#done());
    }
    return false;
  }

  /** Refuses new work from now on. */
  begin(): void {
    this.#draining = true;
  }

  /** Resolves true once no MCP request is under way, false when `ms` ran out first. */
  settled(ms: number): Promise<boolean> {
    if (this.#inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.#idle.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  #done(): void {
    this.#inFlight -= 1;
    if (this.#inFlight > 0) return;
    const waiting = this.#idle;
    this.#idle = [];
    for (const wake of waiting) wake();
  }
}

/** 503 with a JSON body, closing the connection: a draining process keeps none open. */
function answer(res: ServerResponse, body: unknown): true {
  res
    .writeHead(503, { "content-type": "application/json", connection: "close" })
    .end(res.req.method === "HEAD" ? "" : JSON.stringify(body));
  return true;
}
