import type { RedisClient } from "../redis/client.js";
import type { Keys } from "../redis/keys.js";
import { connectTarget, type RedisTarget } from "../redis/target.js";

type Listener = (agent: string, replyTo: string | undefined) => void;

/**
 * Hears deliver's announcements of new mail (one pub/sub connection per process) and
 * wakes whoever waits: a long-poll for an agent's inbox, a sender awaiting a reply, an
 * MCP resource subscription. Announcements are hints; every waiter also re-checks Redis
 * on a timer, so a missed one costs latency, never a message. On a Redis Cluster the
 * channel is classic pub/sub, which the cluster relays to every node: a subscriber on any
 * node hears what deliver's scripts publish on every master.
 */
export class MailAnnouncements {
  readonly #target: RedisTarget;
  readonly #channel: string;
  readonly #listeners = new Set<Listener>();
  #subscriber: RedisClient | undefined;

  constructor(target: RedisTarget, keys: Keys) {
    this.#target = target;
    this.#channel = keys.mailChannel();
  }

  /** Calls `listener` on every announcement until the returned function is called. */
  listen(listener: Listener): () => void {
    this.#connect();
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Resolves when mail for `agent` (or a reply to `replyTo`) is announced, or after
   * `ms`, or when `signal` aborts; whichever comes first.
   */
  waitFor(
    match: { agent: string; replyTo?: string },
    ms: number,
    signal?: AbortSignal,
  ): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        stop();
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      const stop = this.listen((agent, replyTo) => {
        if (agent === match.agent && (match.replyTo === undefined || match.replyTo === replyTo))
          done();
      });
      signal?.addEventListener("abort", done);
    });
  }

  close(): void {
    this.#subscriber?.disconnect();
    this.#subscriber = undefined;
    this.#listeners.clear();
  }

  #connect(): void {
    if (this.#subscriber !== undefined) return;
    const subscriber = connectTarget(this.#target, "reader", "switchboard:mail");
    subscriber.on("error", () => undefined); // reconnects; waiters fall back to their timers
    subscriber.on("message", (_channel: string, message: string) => {
      const [agent, replyTo] = message.split(" ");
      for (const listener of this.#listeners) listener(agent!, replyTo);
    });
    void subscriber.subscribe(this.#channel).catch(() => undefined);
    this.#subscriber = subscriber;
  }
}
