import { randomBytes } from "node:crypto";
import { SwitchboardError } from "../protocol/errors.js";
import type { RedisClient } from "../redis/client.js";
import { ConsoleKeys } from "../redis/console-keys.js";
import type { Keys } from "../redis/keys.js";

/**
 * How long a console session lasts from login.
 * @defaultValue 8 hours
 */
export const SESSION_TTL_MS = 8 * 3_600_000;

/** A session id or CSRF token: 32 random bytes, base64url. */
const SECRET = /^[A-Za-z0-9_-]{43}$/;

const secret = (): string => randomBytes(32).toString("base64url");

/** What the console tells its page about the session (`/console/login`, `/console/api/session`). */
export interface SessionView {
  operator: string;
  csrf: string;
  expires_at: string;
}

export interface Session extends SessionView {
  id: string;
}

const LOG_IN_AGAIN = "your console session has expired or was closed; log in again at /console";

/**
 * Console sessions in Redis (a hash a session, expiring with it), so any serve process
 * behind a load balancer knows them and a restart logs nobody out. The session id travels
 * only in the HttpOnly cookie; the CSRF token, which every state-changing request repeats
 * in a header, only in the page.
 */
export class ConsoleSessions {
  readonly #keys: ConsoleKeys;

  constructor(
    private readonly redis: RedisClient,
    keys: Keys,
  ) {
    this.#keys = new ConsoleKeys(keys);
  }

  async open(operator: string, now = Date.now()): Promise<Session> {
    const session: Session = {
      id: secret(),
      operator,
      csrf: secret(),
      expires_at: new Date(now + SESSION_TTL_MS).toISOString(),
    };
    const key = this.#keys.session(session.id);
    await this.redis
      .multi()
      .hset(key, { operator, csrf: session.csrf, expires_at: session.expires_at })
      .pexpire(key, SESSION_TTL_MS)
      .exec();
    return session;
  }

  /** The session of a cookie's id; UNAUTHENTICATED (log in again) when there is none. */
  async find(id: string | undefined): Promise<Session> {
    if (id !== undefined && SECRET.test(id)) {
      const fields = await this.redis.hgetall(this.#keys.session(id));
      const { operator, csrf, expires_at } = fields;
      if (operator !== undefined && csrf !== undefined && expires_at !== undefined) {
        return { id, operator, csrf, expires_at };
      }
    }
    throw new SwitchboardError("UNAUTHENTICATED", LOG_IN_AGAIN);
  }

  async close(id: string | undefined): Promise<void> {
    if (id !== undefined && SECRET.test(id)) await this.redis.del(this.#keys.session(id));
  }
}
