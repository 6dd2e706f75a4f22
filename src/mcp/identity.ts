import type { AuthInfo, ServerContext } from "@modelcontextprotocol/server";
import { bearerToken } from "../http/bearer.js";
import { SwitchboardError } from "../protocol/errors.js";
import type { Switchboard } from "../service/switchboard.js";

/** The agent a request acts as, and the token that proves it. */
export interface Caller {
  agent: string;
  token: string;
}

const NOT_AN_AGENT =
  "you are not an agent yet: call register_agent first, or present your token " +
  "(`Authorization: Bearer …` over HTTP, SWITCHBOARD_TOKEN for stdio)";

/** `Authorization: Bearer <token>` as the SDK's pass-through AuthInfo; the token is checked later. */
export function authInfoOf(request: Request): AuthInfo | undefined {
  const token = bearerToken(request.headers.get("authorization"));
  return token === undefined ? undefined : { token, clientId: "bearer", scopes: [] };
}

export interface IdentityOptions {
  /** Whether register_agent binds the connection: sessions and stdio, not stateless requests. */
  remembers: boolean;
  /** The agent the connection is from the start. */
  bound?: Caller;
}

/**
 * Who is calling, for one connection: the token presented with the request (HTTP
 * `Authorization: Bearer`), else the token this connection remembers (a 2025-11-25
 * session that called register_agent, or the agent a stdio process was started as).
 * A stateless 2026-07-28 request remembers nothing. Every call checks the token against
 * Redis, so an agent unregistered by another front end stops working everywhere.
 */
export class Identity {
  readonly #service: Switchboard;
  readonly #remembers: boolean;
  #bound: Caller | undefined;

  constructor(service: Switchboard, options: IdentityOptions) {
    this.#service = service;
    this.#remembers = options.remembers;
    this.#bound = options.bound;
  }

  /** Whether register_agent binds this connection (sessions, stdio) or not (stateless). */
  get remembers(): boolean {
    return this.#remembers;
  }

  /** The agent this connection remembers, if any. */
  get bound(): Caller | undefined {
    return this.#bound;
  }

  /** The token of this request: presented, else remembered. */
  token(ctx: ServerContext): Promise<string | undefined> {
    return Promise.resolve(ctx.http?.authInfo?.token ?? this.#bound?.token);
  }

  /** The agent a token belongs to, or undefined. */
  async agentOf(token: string): Promise<string | undefined> {
    try {
      return await this.#service.authenticate(token);
    } catch (error) {
      if (error instanceof SwitchboardError && error.code === "UNAUTHENTICATED") return undefined;
      throw error;
    }
  }

  /** The calling agent; UNAUTHENTICATED when there is none or its token is unknown. */
  async require(ctx: ServerContext): Promise<Caller> {
    const token = await this.token(ctx);
    if (token === undefined) throw new SwitchboardError("UNAUTHENTICATED", NOT_AN_AGENT);
    return { agent: await this.#service.authenticate(token), token };
  }

  /** The calling agent, or undefined when there is none or its token is unknown. */
  async optional(ctx: ServerContext): Promise<Caller | undefined> {
    const token = await this.token(ctx);
    const agent = token === undefined ? undefined : await this.agentOf(token);
    return agent === undefined || token === undefined ? undefined : { agent, token };
  }

  /** After register_agent: later requests of this connection are this agent. */
  bind(caller: Caller): void {
    if (this.#remembers) this.#bound = caller;
  }

  /** After unregister_agent: this connection is nobody again. */
  unbind(agent: string): void {
    if (this.#bound?.agent === agent) this.#bound = undefined;
  }
}
