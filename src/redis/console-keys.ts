import type { Keys } from "./keys.js";

/**
 * The keys of the web console and of the activity it shows (beside `keys.ts`, which
 * builds every other key): the operator token, console sessions, threads by their latest
 * activity, and the activity channel.
 */
export class ConsoleKeys {
  readonly prefix: string;

  constructor(keys: Pick<Keys, "prefix">) {
    this.prefix = keys.prefix;
  }

  /** The operator token's SHA-256 (hex): whoever presents the token may open the console. */
  operatorToken(): string {
    return `${this.prefix}:{console}:token`;
  }

  /** A console session (hash: operator, csrf, expires_at), expiring with the session. */
  session(sessionId: string): string {
    return `${this.prefix}:{console}:session:${sessionId}`;
  }

  /** Threads by their latest message (zset: thread id → ms), trimmed to the newest. */
  recentThreads(): string {
    return `${this.prefix}:{threads}:recent`;
  }

  /** Pub/sub: what changed (agents' status, messages' status, dead letters), for the console. */
  activityChannel(): string {
    return `${this.prefix}:activity`;
  }
}
