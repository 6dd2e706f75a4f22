import type { Redis } from "ioredis";
import { Registry, type Registration, type StatusChange } from "../agents/registry.js";
import type { Pipeline } from "../config/pipeline.js";
import { DeadLetters } from "../dlq/store.js";
import { History, type MessageView } from "../history/history.js";
import { Inbox, type AckResult, type Digest, type InboxMessage } from "../inbox/inbox.js";
import { MailAnnouncements } from "../inbox/mail.js";
import { Ingress, type Accepted } from "../ingress/ingress.js";
import { SendRate } from "../ingress/send-rate.js";
import { SYSTEM_AGENT, type AgentView, type RegisterInput } from "../protocol/agent.js";
import { composeEnvelope } from "../protocol/compose.js";
import type { Envelope, TraceContext } from "../protocol/envelope.js";
import { claimOf, formatClaim, parseClaim } from "../protocol/idempotency.js";
import { SwitchboardError, toErrorInfo } from "../protocol/errors.js";
import { checkBody } from "../protocol/json-value.js";
import type { ToolInput } from "../protocol/tools.js";
import type { Keys } from "../redis/keys.js";
import { trimAcknowledged } from "../redis/trim.js";
import type { Logger } from "../telemetry/log.js";

/** The topic on which agents' status changes are published. */
export const AGENT_EVENTS_TOPIC = "switchboard.agents";
/** How often a waiting `send_message` re-checks for its reply. */
const REPLY_RECHECK_MS = 500;
/** Inboxes are trimmed (acknowledged mail past retention) every this many sweeps. */
const TRIM_EVERY_SWEEPS = 12;

export interface SendResult {
  message_id: string;
  thread_id: string;
  status: "accepted" | "duplicate";
  /** With `await_reply_seconds`: the first reply, or null when none came in time. */
  reply?: InboxMessage | null;
  reply_timed_out?: boolean;
}

export interface ServiceOptions {
  url: string;
  redis: Redis;
  keys: Keys;
  pipeline: Pipeline;
  log: Logger;
}

/**
 * What agents can do, whatever the transport (MCP over HTTP or stdio, the CLI): every
 * operation takes the calling agent, already authenticated by the caller of this class.
 * All state lives in Redis, so any number of front-end processes serve any agent.
 */
export class Switchboard {
  readonly registry: Registry;
  readonly inbox: Inbox;
  readonly history: History;
  readonly mail: MailAnnouncements;
  /** The dead-letter store, for admin agents. */
  readonly deadLetters: DeadLetters;
  readonly #o: ServiceOptions;
  readonly #ingress: Ingress;
  /** Aborted when a front end stops: waits end at once (see {@link stopWaiting}). */
  readonly #stopping = new AbortController();
  readonly #sendRate: SendRate;
  #sweeper: NodeJS.Timeout | undefined;
  #sweeps = 0;

  constructor(options: ServiceOptions) {
    this.#o = options;
    const { redis, keys, pipeline } = options;
    this.registry = new Registry(redis, keys, pipeline);
    this.mail = new MailAnnouncements(options.url, keys);
    this.inbox = new Inbox(redis, keys, pipeline, this.mail);
    this.history = new History(redis, keys, pipeline);
    this.deadLetters = new DeadLetters(redis, keys, pipeline);
    this.#ingress = new Ingress(redis, keys, pipeline);
    this.#sendRate = new SendRate(redis, keys, pipeline);
  }

  async register(input: RegisterInput, presentedToken?: string): Promise<Registration> {
    const registration = await this.registry.register(input, presentedToken);
    this.#o.log.info("agent registered", {
      agent: registration.agent.name,
      created: registration.created,
    });
    return registration;
  }

  /** The agent a token belongs to; UNAUTHENTICATED when it belongs to none. */
  async authenticate(token: string): Promise<string> {
    const agent = await this.registry.authenticate(token);
    if (agent === undefined) {
      throw new SwitchboardError(
        "UNAUTHENTICATED",
        "this token belongs to no agent (it was unregistered, or mistyped); present none and call register_agent to get a new one",
      );
    }
    return agent;
  }

  async unregister(agent: string): Promise<void> {
    await this.registry.unregister(agent);
    await this.#publishStatus([{ agent, from: "online", to: "offline" }]);
  }

  /** Records contact from an agent (any call does); publishes a status change. */
  async touch(agent: string): Promise<void> {
    const change = await this.registry.touch(agent);
    if (change !== undefined) await this.#publishStatus([change]);
  }

  async agent(name: string): Promise<AgentView> {
    const agent = await this.registry.get(name);
    if (agent === undefined) {
      throw new SwitchboardError("NOT_FOUND", `no agent named '${name}'`, {
        field: "name",
        hint: "listAgents",
      });
    }
    return agent;
  }

  async send(
    agent: string,
    input: ToolInput<"send_message">,
    trace?: TraceContext,
    signal?: AbortSignal,
  ): Promise<SendResult> {
    checkBody(input.body, this.#o.pipeline.limits);
    // One send from the agent's bucket, while the named recipients are looked up.
    const [waitMs, unknown] = await Promise.all([
      this.#sendRate.take(agent),
      input.to === undefined ? [] : this.registry.unknown(input.to),
    ]);
    if (waitMs > 0) throw this.#sendRate.refusal(agent, waitMs);
    if (unknown.length > 0) {
      throw new SwitchboardError(
        "NOT_FOUND",
        `no agent named ${unknown.map((n) => `'${n}'`).join(", ")}`,
        { field: "to", hint: "listAgents" },
      );
    }
    const threadId =
      input.thread_id ??
      (input.reply_to === undefined ? undefined : await this.#threadOfReply(agent, input.reply_to));
    const envelope = composeEnvelope({
      from: agent,
      to: input.to,
      capability: input.capability,
      mode: input.mode,
      broadcast: input.broadcast,
      topic: input.topic,
      body: input.body,
      subject: input.subject,
      type: input.type,
      thread_id: threadId,
      reply_to: input.reply_to,
      ttl_seconds: input.ttl_seconds,
      idempotency_key: input.idempotency_key,
      trace,
    });
    const duplicate = await this.#claimIdempotencyKey(envelope);
    if (duplicate !== undefined) return duplicate;
    const accepted = await this.#acceptClaimed(envelope);
    const result: SendResult = {
      message_id: accepted.message_id,
      thread_id: accepted.thread_id,
      status: "accepted",
    };
    if (input.await_reply_seconds === undefined) return result;
    const reply = await this.#awaitReply(
      agent,
      envelope.id,
      input.await_reply_seconds * 1000,
      this.#waitSignal(signal),
    );
    return { ...result, reply: reply ?? null, reply_timed_out: reply === undefined };
  }

  fetch(
    agent: string,
    input: ToolInput<"fetch_inbox">,
    signal?: AbortSignal,
  ): Promise<InboxMessage[]> {
    return this.inbox.fetch(agent, {
      limit: input.limit,
      waitSeconds: input.wait_seconds,
      signal: this.#waitSignal(signal),
    });
  }

  /**
   * Ends the waits in progress, and any that start later: a `fetch_inbox` long poll or a
   * `send_message` awaiting its reply returns what it has at once. For a front end that
   * is shutting down, so those calls are answered rather than cut off.
   */
  stopWaiting(): void {
    this.#stopping.abort();
  }

  /** The caller's signal (a cancelled call), joined with the service's stop. */
  #waitSignal(signal: AbortSignal | undefined): AbortSignal {
    return signal === undefined
      ? this.#stopping.signal
      : AbortSignal.any([signal, this.#stopping.signal]);
  }

  ack(agent: string, messageIds: readonly string[]): Promise<AckResult> {
    return this.inbox.ack(agent, messageIds);
  }

  digest(agent: string): Promise<Digest> {
    return this.inbox.digest(agent);
  }

  getMessage(agent: string, messageId: string): Promise<MessageView> {
    return this.history.message(agent, messageId);
  }

  getThread(agent: string, threadId: string): Promise<MessageView[]> {
    return this.history.thread(agent, threadId);
  }

  /**
   * Hands the caller its messages again: a thread (in order, paged by sequence number), or
   * its inbox after a cursor (an inbox id, stable across restarts and front ends).
   * Read-only, so idempotent; the next page starts at `next_cursor`, null at the end.
   */
  async replay(
    agent: string,
    input: ToolInput<"replay">,
  ): Promise<{ messages: (InboxMessage | MessageView)[]; next_cursor: string | null }> {
    if (input.thread_id !== undefined) {
      const after = Number(input.after ?? 0);
      const rest = (await this.history.thread(agent, input.thread_id)).filter(
        (m) => (m.seq ?? 0) > after,
      );
      return page(rest, input.limit, (m) => String(m.seq));
    }
    // One more than asked shows whether a next page exists.
    const messages = await this.inbox.after(agent, input.after ?? "0", input.limit + 1);
    return page(messages, input.limit, (m) => m.inbox_id);
  }

  subscribe(agent: string, topic: string): Promise<boolean> {
    return this.registry.subscribe(agent, topic);
  }

  unsubscribe(agent: string, topic: string): Promise<boolean> {
    return this.registry.unsubscribe(agent, topic);
  }

  /** Starts the periodic sweep: agents' status by timeouts, inbox trimming. */
  startSweeper(): void {
    const interval = this.#o.pipeline.agents.sweepIntervalMs;
    const run = async () => {
      try {
        await this.sweep();
      } catch (error) {
        this.#o.log.warn("agent sweep failed", { error: toErrorInfo(error) });
      }
      this.#sweeper = setTimeout(() => void run(), interval * (0.5 + Math.random()));
      this.#sweeper.unref();
    };
    this.#sweeper = setTimeout(() => void run(), interval * Math.random());
    this.#sweeper.unref();
  }

  async sweep(): Promise<void> {
    await this.#publishStatus(await this.registry.sweep());
    if (++this.#sweeps % TRIM_EVERY_SWEEPS === 0) {
      for (const agent of await this.registry.list()) {
        await trimAcknowledged(
          this.#o.redis,
          this.#o.keys.inbox(agent.name),
          this.#o.pipeline.history.retentionMs,
        );
      }
    }
  }

  close(): void {
    clearTimeout(this.#sweeper);
    this.mail.close();
  }

  /** Status changes become messages on the `switchboard.agents` topic, when anyone listens. */
  async #publishStatus(changes: readonly StatusChange[]): Promise<void> {
    if (changes.length === 0) return;
    for (const change of changes) this.#o.log.info("agent status", { ...change });
    const listeners = await this.#o.redis.scard(this.#o.keys.topic(AGENT_EVENTS_TOPIC));
    if (listeners === 0) return;
    await this.#ingress.acceptMany(
      changes.map((change) =>
        composeEnvelope({
          from: SYSTEM_AGENT,
          topic: AGENT_EVENTS_TOPIC,
          type: "switchboard.agent_status",
          subject: `${change.agent} is ${change.to}`,
          body: { ...change },
        }),
      ),
    );
  }

  /**
   * Claims the message's idempotency key at once (validate checks the claim again), so a
   * retry is recognised even before the first message went through the pipeline: the same
   * body gets the first message back; another body is refused.
   */
  async #claimIdempotencyKey(envelope: Envelope): Promise<SendResult | undefined> {
    if (envelope.idempotency_key === undefined) return undefined;
    const claim = claimOf(envelope);
    const key = this.#o.keys.idempotency(envelope.from, envelope.idempotency_key);
    const window = this.#o.pipeline.dedupe.idempotencyWindowMs;
    const held = await this.#o.redis.set(key, formatClaim(claim), "PX", window, "NX", "GET");
    if (held === null) return undefined;
    const first = parseClaim(held);
    if (first.body_sha256 === claim.body_sha256) {
      return { message_id: first.message_id, thread_id: first.thread_id, status: "duplicate" };
    }
    throw new SwitchboardError(
      "DUPLICATE_IDEMPOTENCY_KEY",
      `idempotency key '${envelope.idempotency_key}' was already used by message ${first.message_id} with a different body; use a new key for a new message`,
      { field: "idempotency_key" },
    );
  }

  /** Accepts a message; if that fails, releases its idempotency key for the retry. */
  async #acceptClaimed(envelope: Envelope): Promise<Accepted> {
    try {
      return await this.#ingress.accept(envelope);
    } catch (error) {
      if (envelope.idempotency_key !== undefined) {
        const key = this.#o.keys.idempotency(envelope.from, envelope.idempotency_key);
        if ((await this.#o.redis.get(key).catch(() => null)) === formatClaim(claimOf(envelope))) {
          await this.#o.redis.del(key).catch(() => 0);
        }
      }
      throw error;
    }
  }

  async #threadOfReply(agent: string, replyTo: string): Promise<string> {
    try {
      return await this.history.threadOf(agent, replyTo);
    } catch {
      throw new SwitchboardError(
        "NOT_FOUND",
        `reply_to: no message ${replyTo} that you sent or received`,
        { field: "reply_to" },
      );
    }
  }

  /** Waits for the first reply to `messageId` in the sender's inbox, and takes it out. */
  async #awaitReply(
    agent: string,
    messageId: string,
    ms: number,
    signal?: AbortSignal,
  ): Promise<InboxMessage | undefined> {
    const deadline = Date.now() + ms;
    const pointer = this.#o.keys.replyTo(agent, messageId);
    for (;;) {
      const replyId = await this.#o.redis.get(pointer);
      if (replyId !== null) {
        const reply = await this.inbox.take(agent, replyId);
        if (reply !== undefined) return reply;
      }
      const left = deadline - Date.now();
      if (left <= 0 || signal?.aborted === true) return undefined;
      await this.mail.waitFor(
        { agent, replyTo: messageId },
        Math.min(left, REPLY_RECHECK_MS),
        signal,
      );
    }
  }
}

/** The first `limit` items, and the cursor of the last one when more follow. */
function page<T>(
  items: readonly T[],
  limit: number,
  cursorOf: (item: T) => string,
): { messages: T[]; next_cursor: string | null } {
  const messages = items.slice(0, limit);
  const last = messages.at(-1);
  return {
    messages,
    next_cursor: items.length > limit && last !== undefined ? cursorOf(last) : null,
  };
}
