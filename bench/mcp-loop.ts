import { setTimeout as delay } from "node:timers/promises";
import { call, type Agent } from "./mcp-agents.js";

/** How long a fetch long-polls; below the client's request timeout. */
const WAIT_SECONDS = 5;
const FETCH_TIMEOUT_MS = 30_000;

interface InFlight {
  /** performance.now() when the sender's send_message call started. */
  t0: number;
  arrived: () => void;
}

/**
 * The closed loop: agent i sends to agent (i+1) % N and sends its next message only once
 * that one came out of the recipient's fetch_inbox, so N messages are in flight at any
 * time; every agent also long-polls its inbox and acknowledges what it got. The round
 * trip of a message is from the start of its send_message call to the return of the
 * fetch_inbox that handed it out, on this process's clock.
 */
export class RoundTrips {
  /** Round trips of messages sent inside the window, ms. */
  readonly latencies: number[] = [];
  /** Messages handed out by fetch_inbox so far (warm-up included). */
  received = 0;
  /** Messages without a tag of ours (notices from `switchboard`): counted, acked. */
  foreign = 0;
  readonly #agents: readonly Agent[];
  readonly #inFlight = new Map<string, InFlight>();
  /** Aborted to end the fetch loops; each poll has a signal of its own, in `#polls`. */
  readonly #stopFetching = new AbortController();
  readonly #polls = new Set<AbortController>();
  #window: { start: number; end: number } | undefined;
  #sending = true;
  #failure: Error | undefined;
  #failed!: (error: Error) => void;
  readonly #failedPromise = new Promise<never>((_, reject) => (this.#failed = reject));
  #loops: Promise<void>[] = [];
  #senders: Promise<void>[] = [];

  constructor(agents: readonly Agent[]) {
    this.#agents = agents;
    this.#failedPromise.catch(() => undefined);
  }

  /** Starts every agent's send and fetch loops. */
  start(): void {
    this.#senders = this.#agents.map((agent, i) => this.#guard(this.#send(agent, i)));
    this.#loops = [...this.#senders, ...this.#agents.map((a) => this.#guard(this.#fetch(a)))];
  }

  /** Messages sent from now until {@link closeWindow} are measured. */
  openWindow(): void {
    this.#window = { start: performance.now(), end: Infinity };
  }

  closeWindow(): void {
    if (this.#window) this.#window.end = performance.now();
  }

  /** Until `count` messages were received in all; throws if a loop failed. */
  async waitReceived(count: number, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.received < count) {
      if (this.#failure) throw this.#failure;
      if (performance.now() > deadline) {
        throw new Error(`only ${this.received} of ${count} warm-up messages arrived in time`);
      }
      await delay(20);
    }
  }

  /** Stops sending, lets the messages in flight arrive, then stops the fetches. */
  async stop(timeoutMs: number): Promise<void> {
    this.#sending = false;
    const timeout = delay(timeoutMs, "timeout" as const, { ref: false });
    const outcome = await Promise.race([Promise.all(this.#senders), timeout]);
    this.#endPolls();
    await Promise.allSettled(this.#loops);
    if (this.#failure) throw this.#failure;
    if (outcome === "timeout") {
      throw new Error(
        `${this.#inFlight.size} messages still in flight ${timeoutMs} ms after the end`,
      );
    }
  }

  /** Ends the loops at once (on errors and SIGINT). */
  abort(): void {
    this.#sending = false;
    this.#endPolls();
    this.#failed(new Error("aborted"));
  }

  async #guard(loop: Promise<void>): Promise<void> {
    try {
      await loop;
    } catch (error) {
      if (this.#stopFetching.signal.aborted) return;
      this.#failure ??= error instanceof Error ? error : new Error(String(error));
      this.#sending = false;
      this.#endPolls();
      this.#failed(this.#failure);
    }
  }

  async #send(agent: Agent, i: number): Promise<void> {
    const to = [this.#agents[(i + 1) % this.#agents.length]!.name];
    for (let n = 0; this.#sending; n += 1) {
      const tag = `${i}:${n}`;
      const arrived = new Promise<void>((resolve) => {
        this.#inFlight.set(tag, { t0: performance.now(), arrived: resolve });
      });
      await call(agent, "send_message", { to, body: { tag, kind: "ping", n } });
      await Promise.race([arrived, this.#failedPromise]);
    }
  }

  async #fetch(agent: Agent): Promise<void> {
    const stopping = this.#stopFetching.signal;
    while (!stopping.aborted) {
      const args = { limit: 10, wait_seconds: WAIT_SECONDS };
      // A signal per call: the client leaves its abort listener on the signal it is given.
      const poll = new AbortController();
      this.#polls.add(poll);
      const options = { signal: poll.signal, timeout: FETCH_TIMEOUT_MS };
      const result = await call(agent, "fetch_inbox", args, options).finally(() =>
        this.#polls.delete(poll),
      );
      const now = performance.now();
      const messages = (result.messages ?? []) as { message_id: string; body?: { tag?: string } }[];
      for (const message of messages) this.#arrived(message.body?.tag, now);
      if (messages.length > 0) {
        await call(agent, "ack_messages", { message_ids: messages.map((m) => m.message_id) });
      }
    }
  }

  #endPolls(): void {
    this.#stopFetching.abort();
    for (const poll of this.#polls) poll.abort();
  }

  #arrived(tag: string | undefined, now: number): void {
    const flight = tag === undefined ? undefined : this.#inFlight.get(tag);
    if (tag === undefined || flight === undefined) {
      this.foreign += 1;
      return;
    }
    this.#inFlight.delete(tag);
    this.received += 1;
    if (this.#window && flight.t0 >= this.#window.start && flight.t0 < this.#window.end) {
      this.latencies.push(now - flight.t0);
    }
    flight.arrived();
  }
}
