import type { RedisClient } from "../redis/client.js";
import { Registry, type Registration } from "../agents/registry.js";
import { directorySeenBy } from "../agents/visibility.js";
import type { Pipeline } from "../config/pipeline.js";
import type { DeadLetterFilter } from "../dlq/entry.js";
import { DeadLetters } from "../dlq/store.js";
import { History, type MessageView } from "../history/history.js";
import { Inbox, type AckResult, type Digest, type InboxMessage } from "../inbox/inbox.js";
import { MailAnnouncements } from "../inbox/mail.js";
import { Ingress } from "../ingress/ingress.js";
import { LeaseStore } from "../leases/store.js";
import { LoopBreaker } from "../loops/breaker.js";
import { TrippedLoops } from "../loops/tripped.js";
import {
  agentNotFound,
  type AgentStatus,
  type AgentView,
  type RegisterInput,
} from "../protocol/agent.js";
import type { TraceContext } from "../protocol/envelope.js";
import { SwitchboardError } from "../protocol/errors.js";
import type { ToolInput } from "../protocol/tools.js";
import type { Keys } from "../redis/keys.js";
import type { RedisTarget } from "../redis/target.js";
import type { Logger } from "../telemetry/log.js";
import { AgentEvents } from "./agent-events.js";
import { LeaseNotices } from "./lease-notices.js";
import { Leases } from "./leases.js";
import { NoteBoard } from "./notes.js";
import { replayMessages, type Replayed } from "./replay.js";
import { Sender, type SendResult } from "./send.js";
import { Sweeper } from "./sweeper.js";

export interface ServiceOptions {
  /** Where Redis is, for the connections opened besides `redis`. */
  target: RedisTarget;
  redis: RedisClient;
  keys: Keys;
  pipeline: Pipeline;
  log: Logger;
}

/**
 * What agents can do, whatever the transport (MCP over HTTP or stdio, the CLI): every
 * operation takes the calling agent, already authenticated by the caller of this class.
 * All state lives in Redis, so any number of front-end processes serve any agent.
 * Resource leases, shared notes and tripped loop breakers are operations of their own
 * ({@link leases}, {@link notes}, {@link loops}), each hiding its store as this class
 * hides its parts.
 */
export class Switchboard {
  readonly #registry: Registry;
  readonly #inbox: Inbox;
  readonly #history: History;
  readonly #mail: MailAnnouncements;
  readonly #deadLetters: DeadLetters;
  readonly #events: AgentEvents;
  readonly #sender: Sender;
  readonly #sweeper: Sweeper;
  /** Resource leases: acquire (waiting when asked), renew, release, break, list. */
  readonly leases: Leases;
  /** Shared notes: write (compare-and-set, announced), read, list, history. */
  readonly notes: NoteBoard;
  /** The loop breakers tripped now, and lifting them. For admin agents: the caller checks. */
  readonly loops: TrippedLoops;
  /** Aborted when a front end stops: waits end at once (see {@link stopWaiting}). */
  readonly #stopping = new AbortController();

  constructor(options: ServiceOptions) {
    const { redis, keys, pipeline, log } = options;
    const registry = new Registry(redis, keys, pipeline);
    const mail = new MailAnnouncements(options.target, keys);
    const inbox = new Inbox(redis, keys, pipeline, mail);
    const history = new History(redis, keys, pipeline);
    const ingress = new Ingress(redis, keys, pipeline);
    const events = new AgentEvents(redis, keys, ingress, log);
    const loops = new LoopBreaker({ redis, keys, pipeline, ingress, log });
    const leases = new Leases(
      new LeaseStore(redis, keys),
      new LeaseNotices(registry, ingress, log),
      (signal) => this.#waitSignal(signal),
    );
    this.#registry = registry;
    this.#mail = mail;
    this.#inbox = inbox;
    this.#history = history;
    this.#events = events;
    this.#deadLetters = new DeadLetters(redis, keys, pipeline);
    this.#sender = new Sender({
      redis,
      keys,
      pipeline,
      registry,
      history,
      inbox,
      mail,
      ingress,
      loops,
    });
    this.#sweeper = new Sweeper({ redis, keys, pipeline, registry, events, leases, log });
    this.leases = leases;
    this.notes = new NoteBoard(redis, keys, ingress, pipeline.limits.maxBodyBytes, log);
    this.loops = new TrippedLoops(redis, keys);
  }

  async register(input: RegisterInput, presentedToken?: string): Promise<Registration> {
    const registration = await this.#registry.register(input, presentedToken);
    await this.#events.registered(registration);
    return registration;
  }

  /** The agent a token belongs to; UNAUTHENTICATED when it belongs to none. */
  async authenticate(token: string): Promise<string> {
    const agent = await this.agentOf(token);
    if (agent === undefined) {
      throw new SwitchboardError(
        "UNAUTHENTICATED",
        "this token belongs to no agent (it was unregistered, or mistyped); present none and call register_agent to get a new one",
      );
    }
    return agent;
  }

  /** The agent a token belongs to, or undefined; a malformed token is UNAUTHENTICATED. */
  agentOf(token: string): Promise<string | undefined> {
    return this.#registry.authenticate(token);
  }

  async unregister(agent: string): Promise<void> {
    await this.#registry.unregister(agent);
    await this.#events.publish([{ agent, from: "online", to: "offline" }]);
  }

  /** Records contact from an agent (any call does); publishes a status change. */
  async touch(agent: string): Promise<void> {
    const change = await this.#registry.touch(agent);
    if (change !== undefined) await this.#events.publish([change]);
  }

  async agent(name: string): Promise<AgentView> {
    const agent = await this.#registry.get(name);
    if (agent === undefined) throw agentNotFound(name);
    return agent;
  }

  async isRegistered(name: string): Promise<boolean> {
    return (await this.#registry.get(name)) !== undefined;
  }

  /** Whether the agent may call the admin tools (an operator granted it the role). */
  async isAdmin(name: string): Promise<boolean> {
    return (await this.#registry.get(name))?.role === "admin";
  }

  /** Who is registered, as `viewer` may see them (webhook URLs as their origin, but its own). */
  listAgents(
    viewer: string,
    filter: { capability?: string | undefined; status?: AgentStatus | undefined } = {},
  ): Promise<AgentView[]> {
    return directorySeenBy(this.#registry, viewer, filter);
  }

  send(
    agent: string,
    input: ToolInput<"send_message">,
    trace?: TraceContext,
    signal?: AbortSignal,
  ): Promise<SendResult> {
    return this.#sender.send(agent, input, trace, this.#waitSignal(signal));
  }

  fetch(
    agent: string,
    input: ToolInput<"fetch_inbox">,
    signal?: AbortSignal,
  ): Promise<InboxMessage[]> {
    return this.#inbox.fetch(agent, {
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
    return this.#inbox.ack(agent, messageIds);
  }

  digest(agent: string): Promise<Digest> {
    return this.#inbox.digest(agent);
  }

  /** The messages waiting in an agent's inbox, oldest first; nothing is taken. */
  waitingMail(agent: string, limit: number): Promise<InboxMessage[]> {
    return this.#inbox.waiting(agent, limit);
  }

  /** The newest messages of an agent's inbox, handled or not, oldest first; nothing is taken. */
  recentMail(agent: string, limit: number): Promise<InboxMessage[]> {
    return this.#inbox.peek(agent, limit);
  }

  /**
   * Calls `listener` with the agent of each mail announcement (a hint: re-read the inbox),
   * until the returned function is called.
   */
  onMail(listener: (agent: string) => void): () => void {
    return this.#mail.listen(listener);
  }

  getMessage(agent: string, messageId: string): Promise<MessageView> {
    return this.#history.message(agent, messageId);
  }

  getThread(agent: string, threadId: string): Promise<MessageView[]> {
    return this.#history.thread(agent, threadId);
  }

  /** Hands the caller its messages again, a page at a time (see {@link replayMessages}). */
  replay(agent: string, input: ToolInput<"replay">): Promise<Replayed> {
    return replayMessages(this.#history, this.#inbox, agent, input);
  }

  subscribe(agent: string, topic: string): Promise<boolean> {
    return this.#registry.subscribe(agent, topic);
  }

  unsubscribe(agent: string, topic: string): Promise<boolean> {
    return this.#registry.unsubscribe(agent, topic);
  }

  /**
   * A page of dead letters matching the filter, newest first, and how many the store holds.
   * This and the other dead-letter operations are for admin agents: the caller checks.
   */
  async listDeadLetters(
    filter: DeadLetterFilter,
    page: { limit: number; after?: string | undefined },
  ) {
    const [found, depth] = await Promise.all([
      this.#deadLetters.list(filter, page),
      this.#deadLetters.depth(),
    ]);
    return { ...found, depth };
  }

  replayDeadLetters(ids: readonly string[]) {
    return this.#deadLetters.replay(ids);
  }

  replayMatchingDeadLetters(filter: DeadLetterFilter) {
    return this.#deadLetters.replayAll(filter);
  }

  purgeDeadLetters(ids: readonly string[]) {
    return this.#deadLetters.purge(ids);
  }

  purgeMatchingDeadLetters(filter: DeadLetterFilter) {
    return this.#deadLetters.purgeAll(filter);
  }

  /** Starts the periodic sweep: agents' status by timeouts, inbox trimming, expired leases. */
  startSweeper(): void {
    this.#sweeper.start();
  }

  /** One sweep, now. */
  sweep(): Promise<void> {
    return this.#sweeper.sweep();
  }

  close(): void {
    this.#sweeper.stop();
    this.#mail.close();
  }
}
