import type { RedisClient } from "../redis/client.js";
import type { Registry } from "../agents/registry.js";
import type { Pipeline } from "../config/pipeline.js";
import type { History } from "../history/history.js";
import type { Inbox, InboxMessage } from "../inbox/inbox.js";
import type { MailAnnouncements } from "../inbox/mail.js";
import type { Accepted, Ingress } from "../ingress/ingress.js";
import { SendRate } from "../ingress/send-rate.js";
import type { LoopBreaker } from "../loops/breaker.js";
import { composeEnvelope } from "../protocol/compose.js";
import type { Envelope, TraceContext } from "../protocol/envelope.js";
import { SwitchboardError } from "../protocol/errors.js";
import { claimOf, formatClaim, parseClaim } from "../protocol/idempotency.js";
import { checkBody } from "../protocol/json-value.js";
import type { ToolInput } from "../protocol/tools.js";
import type { Keys } from "../redis/keys.js";

/** How often a waiting `send_message` re-checks for its reply. */
const REPLY_RECHECK_MS = 500;

export interface SendResult {
  message_id: string;
  thread_id: string;
  status: "accepted" | "duplicate";
  /** With `await_reply_seconds`: the first reply, or null when none came in time. */
  reply?: InboxMessage | null;
  reply_timed_out?: boolean;
}

export interface SendDeps {
  redis: RedisClient;
  keys: Keys;
  pipeline: Pipeline;
  registry: Registry;
  history: History;
  inbox: Inbox;
  mail: MailAnnouncements;
  ingress: Ingress;
  loops: LoopBreaker;
}

/**
 * The send use case, whatever the transport: the body checked, one send taken from the
 * agent's rate, the recipients looked up, the envelope composed, its idempotency key
 * claimed, the message counted by the loop breaker, accepted and, with
 * `await_reply_seconds`, its first reply awaited.
 */
export class Sender {
  readonly #d: SendDeps;
  readonly #sendRate: SendRate;

  constructor(deps: SendDeps) {
    this.#d = deps;
    this.#sendRate = new SendRate(deps.redis, deps.keys, deps.pipeline);
  }

  /** `signal` ends a reply wait early: the call was cancelled, or the front end stops. */
  async send(
    agent: string,
    input: ToolInput<"send_message">,
    trace: TraceContext | undefined,
    signal: AbortSignal,
  ): Promise<SendResult> {
    checkBody(input.body, this.#d.pipeline.limits);
    // One send from the agent's bucket, while the named recipients are looked up.
    const [waitMs, unknown] = await Promise.all([
      this.#sendRate.take(agent),
      input.to === undefined ? [] : this.#d.registry.unknown(input.to),
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
      signal,
    );
    return { ...result, reply: reply ?? null, reply_timed_out: reply === undefined };
  }

  /**
   * Claims the message's idempotency key at once (validate checks the claim again), so a
   * retry is recognised even before the first message went through the pipeline: the same
   * body gets the first message back; another body is refused.
   */
  async #claimIdempotencyKey(envelope: Envelope): Promise<SendResult | undefined> {
    if (envelope.idempotency_key === undefined) return undefined;
    const claim = claimOf(envelope);
    const key = this.#d.keys.idempotency(envelope.from, envelope.idempotency_key);
    const window = this.#d.pipeline.dedupe.idempotencyWindowMs;
    const held = await this.#d.redis.set(key, formatClaim(claim), "PX", window, "NX", "GET");
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

  /**
   * Counts a message against the loop budgets and accepts it; if either fails, releases its
   * idempotency key for the retry, unless the message was written and only its replication
   * is unconfirmed (NOT_REPLICATED): it may still be delivered, so a retry must find the
   * key and answer `duplicate`. A duplicate (answered before this) is never counted.
   */
  async #acceptClaimed(envelope: Envelope): Promise<Accepted> {
    try {
      await this.#d.loops.check(envelope);
      return await this.#d.ingress.accept(envelope);
    } catch (error) {
      const written = (error as { code?: unknown }).code === "NOT_REPLICATED";
      if (envelope.idempotency_key !== undefined && !written) {
        const { redis, keys } = this.#d;
        const key = keys.idempotency(envelope.from, envelope.idempotency_key);
        if ((await redis.get(key).catch(() => null)) === formatClaim(claimOf(envelope))) {
          await redis.del(key).catch(() => 0);
        }
      }
      throw error;
    }
  }

  async #threadOfReply(agent: string, replyTo: string): Promise<string> {
    try {
      return await this.#d.history.threadOf(agent, replyTo);
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
    signal: AbortSignal,
  ): Promise<InboxMessage | undefined> {
    const deadline = Date.now() + ms;
    const pointer = this.#d.keys.replyTo(agent, messageId);
    for (;;) {
      const replyId = await this.#d.redis.get(pointer);
      if (replyId !== null) {
        const reply = await this.#d.inbox.take(agent, replyId);
        if (reply !== undefined) return reply;
      }
      const left = deadline - Date.now();
      if (left <= 0 || signal.aborted) return undefined;
      await this.#d.mail.waitFor(
        { agent, replyTo: messageId },
        Math.min(left, REPLY_RECHECK_MS),
        signal,
      );
    }
  }
}
