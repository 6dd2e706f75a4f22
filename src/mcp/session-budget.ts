import type { HttpLimits } from "../config/pipeline.js";

/** How many 2025-11-25 sessions a process holds: the pipeline file's `http.sessions`. */
export type SessionLimits = HttpLimits["sessions"];

/** Why a session was not opened: the HTTP status and what the client can do. */
export interface Refusal {
  status: number;
  message: string;
}

/**
 * Counts sessions against two budgets: agents' (a valid token, or register_agent called),
 * and a small one for sessions that are nobody yet, also counted per client address.
 * Anonymous callers filling theirs never take a place from an agent. `anonymousFrom` is
 * the client address of an anonymous session, undefined for an agent's.
 */
export class SessionBudget {
  readonly #limits: SessionLimits;
  readonly #byAddress = new Map<string, number>();
  #agents = 0;
  #anonymous = 0;

  constructor(limits: SessionLimits) {
    this.#limits = limits;
  }

  /** Takes a place for a new session, or says why there is none. */
  take(anonymousFrom: string | undefined): Refusal | undefined {
    const refusal = this.#refusal(anonymousFrom);
    if (refusal === undefined) this.#count(anonymousFrom, +1);
    return refusal;
  }

  /** Gives back the place of a session that closed (or never opened). */
  release(anonymousFrom: string | undefined): void {
    this.#count(anonymousFrom, -1);
  }

  /** Moves an anonymous session that became an agent to the agents' budget, if it has room. */
  promote(anonymousFrom: string): boolean {
    if (this.#agents >= this.#limits.max) return false;
    this.#count(anonymousFrom, -1);
    this.#count(undefined, +1);
    return true;
  }

  #refusal(anonymousFrom: string | undefined): Refusal | undefined {
    const { max, anonymous } = this.#limits;
    if (anonymousFrom === undefined) {
      if (this.#agents < max) return undefined;
      return {
        status: 503,
        message: `Too many agent sessions on this server (http.sessions.max = ${max}); close sessions you no longer use, or try another server`,
      };
    }
    if ((this.#byAddress.get(anonymousFrom) ?? 0) >= anonymous.perAddress) {
      return {
        status: 429,
        message: `Too many sessions without an agent from ${anonymousFrom} (http.sessions.anonymous.perAddress = ${anonymous.perAddress}); call register_agent in one of them, present your token (Authorization: Bearer), or close those you do not use`,
      };
    }
    if (this.#anonymous >= anonymous.max) {
      return {
        status: 503,
        message: `Too many sessions without an agent on this server (http.sessions.anonymous.max = ${anonymous.max}); present your token (Authorization: Bearer) for an agent's session, or try again in a minute`,
      };
    }
    return undefined;
  }

  #count(anonymousFrom: string | undefined, delta: 1 | -1): void {
    if (anonymousFrom === undefined) {
      this.#agents += delta;
      return;
    }
    this.#anonymous += delta;
    const count = (this.#byAddress.get(anonymousFrom) ?? 0) + delta;
    if (count > 0) this.#byAddress.set(anonymousFrom, count);
    else this.#byAddress.delete(anonymousFrom);
  }
}
