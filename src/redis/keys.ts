import type { Breaker } from "../protocol/loops.js";
import { partitionTag } from "./partition-tag.js";

/**
 * The one place where Redis key names are built. Nothing else writes a key string.
 *
 * Keys share a hash tag (the part in braces) exactly when one Lua script must touch them
 * together, so the layout works unchanged on a Redis Cluster:
 * - `{p0.1}`, `{p1.10}`…: a partition's stage streams, its dead letters and their index by
 *   message id (forward + ack is one script), its BullMQ retry and push queues
 *   ({@link Keys.queuePrefix}) and its lease. The tag is `p<N>` with a suffix chosen so
 *   that the partitions spread over the slots of an evenly split cluster (`partition-tag.ts`);
 * - `{a:NAME}`: an agent: its record, inbox, unacknowledged count, delivery markers,
 *   reply pointers, topics and send-rate bucket (fetch and ack are scripts over these);
 * - `{dir}`: the directory: agents by last contact, capability and topic indexes;
 * - `{k:HASH}`: an agent token (by its SHA-256), naming the agent;
 * - `{s:NAME}`: a sender's idempotency keys;
 * - `{m:ID}`: one message record;
 * - `{t:ID}`: a thread's sequence counter and index, its loop breakers (`thread`, `broadcast`);
 * - `{lp:A:B}`: the loop breaker of two agents (names in order, either sender);
 * - `{b:HASH}`: a webhook endpoint's circuit breaker (by the SHA-256 of its normalized URL);
 * - `{leases}`: the team's resource leases, the ended ones and the fencing counter: every
 *   lease script checks a request against every lease, so they all live in one slot.
 * - `{n:KEY}`: a shared note, its versions and their authors, in one hash.
 */
export class Keys {
  readonly prefix: string;
  readonly partition: number;

  readonly #tag: string;

  constructor(prefix: string, partition = 0) {
    this.prefix = prefix;
    this.partition = partition;
    this.#tag = partitionTag(partition);
  }

  /** The same keys for another partition: its stage streams, dead letters and errors. */
  forPartition(partition: number): Keys {
    return partition === this.partition ? this : new Keys(this.prefix, partition);
  }

  /**
   * How many partitions this Switchboard's data is laid out in: written by the first
   * process that starts, checked by every later one (a change would strand messages).
   */
  partitionCount(): string {
    return `${this.prefix}:{dir}:partitions`;
  }

  /** A stage stream (or the dead-letter stream) of this partition. */
  stream(name: string): string {
    return `${this.prefix}:{${this.#tag}}:${name}`;
  }

  inbox(agent: string): string {
    return `${this.prefix}:{a:${agent}}:inbox`;
  }

  /** An agent's registration (hash). */
  agent(agent: string): string {
    return `${this.prefix}:{a:${agent}}:agent`;
  }

  /** How many messages wait in an agent's inbox, fetched or not, unacknowledged. */
  unacked(agent: string): string {
    return `${this.prefix}:{a:${agent}}:unacked`;
  }

  /** Inbox entries taken out as awaited replies, for fetch to skip. */
  taken(agent: string): string {
    return `${this.prefix}:{a:${agent}}:taken`;
  }

  /** Held while a process claims the agent's name at start-up (`switchboard stdio`). */
  agentClaim(agent: string): string {
    return `${this.prefix}:{a:${agent}}:claim`;
  }

  /**
   * Held while an agent's registration, indexes or subscriptions change, so that a
   * registration, an unregistration and a subscription of one name never interleave.
   */
  agentWrite(agent: string): string {
    return `${this.prefix}:{a:${agent}}:write`;
  }

  /** Set of the topics an agent subscribes to. */
  agentTopics(agent: string): string {
    return `${this.prefix}:{a:${agent}}:topics`;
  }

  /** An agent's send-rate token bucket (hash: tokens, at), shared by every front end. */
  sendRate(agent: string): string {
    return `${this.prefix}:{a:${agent}}:rate`;
  }

  /** The id of the first reply an agent received to one message, for request/reply. */
  replyTo(agent: string, messageId: string): string {
    return `${this.prefix}:{a:${agent}}:re:${messageId}`;
  }

  /** Sorted set of every registered agent, scored by its last contact (ms). */
  directory(): string {
    return `${this.prefix}:{dir}:agents`;
  }

  /** Set of the agents that have a capability (by name, any version). */
  capability(name: string): string {
    return `${this.prefix}:{dir}:cap:${name}`;
  }

  /** Set of the agents subscribed to a topic. */
  topic(topic: string): string {
    return `${this.prefix}:{dir}:topic:${topic}`;
  }

  /** Bumped on every change routing cares about (registration, capabilities, status). */
  directoryVersion(): string {
    return `${this.prefix}:{dir}:version`;
  }

  /** Round-robin counter of `any` routing for one capability. */
  roundRobin(capability: string): string {
    return `${this.prefix}:{dir}:rr:${capability}`;
  }

  /** An agent token, by its SHA-256 (hex): holds the agent's name. */
  token(tokenHash: string): string {
    return `${this.prefix}:{k:${tokenHash}}:token`;
  }

  /** Pub/sub channel on which deliver announces new mail: "agent" or "agent reply_to". */
  mailChannel(): string {
    return `${this.prefix}:mail`;
  }

  /** Marks that a message was appended to an agent's inbox; holds the inbox entry id. */
  delivered(agent: string, messageId: string): string {
    return `${this.prefix}:{a:${agent}}:dl:${messageId}`;
  }

  /** Holds the id of the message that first used this idempotency key. */
  idempotency(sender: string, key: string): string {
    return `${this.prefix}:{s:${sender}}:idem:${key}`;
  }

  message(messageId: string): string {
    return `${this.prefix}:{m:${messageId}}`;
  }

  threadSeq(threadId: string): string {
    return `${this.prefix}:{t:${threadId}}:seq`;
  }

  /** Sorted set of a thread's message ids, scored by their sequence number. */
  thread(threadId: string): string {
    return `${this.prefix}:{t:${threadId}}:msgs`;
  }

  /**
   * A loop breaker's window: a sorted set of the messages it counted ("ID SENDER"), scored
   * by when (ms). A pair's lives under the pair's tag, a thread's rules under the thread's,
   * so the script that counts and trips touches one slot.
   */
  loopWindow(breaker: Breaker): string {
    const tag =
      breaker.rule === "pair"
        ? `lp:${breaker.agents[0]}:${breaker.agents[1]}`
        : `t:${breaker.thread_id}`;
    return `${this.prefix}:{${tag}}:loop:${breaker.rule}`;
  }

  /** A tripped loop breaker (hash: when, until, budget, agents), expiring when it resets. */
  loopTrip(breaker: Breaker): string {
    return `${this.loopWindow(breaker)}:tripped`;
  }

  /** Sorted set of the tripped loop breakers by name, scored by when each resets (ms). */
  loopsTripped(): string {
    return `${this.prefix}:{dir}:loops`;
  }

  /**
   * Sorted set of the worker processes running a stage, scored by each one's last
   * heartbeat (ms): live workers are those heard from lately, however Redis reports the
   * stage's consumers.
   */
  workers(stage: string): string {
    return `${this.prefix}:{${this.#tag}}:workers:${stage}`;
  }

  /**
   * The lease of the worker that owns this partition (`ordering: thread`): "EPOCH WORKER",
   * expiring unless renewed. The epoch is the fencing token: each new owner's is higher.
   */
  owner(): string {
    return `${this.prefix}:{${this.#tag}}:owner`;
  }

  /** The last epoch handed out with this partition's lease. */
  ownerEpoch(): string {
    return `${this.prefix}:{${this.#tag}}:epoch`;
  }

  /** Workers that take partition leases (`ordering: thread`), scored by their last heartbeat. */
  owners(): string {
    return `${this.prefix}:{dir}:owners`;
  }

  /** Marks a dead letter as replayed (holds the new entry id), so a replay happens once. */
  deadLetterReplayed(deadLetterId: string): string {
    return `${this.prefix}:{${this.#tag}}:dlr:${deadLetterId}`;
  }

  /**
   * The dead letters of one message (set of dead-letter ids), so that a message id finds
   * them without a scan. Written with each dead letter, in its partition's slot.
   */
  deadLettersOf(messageId: string): string {
    return `${this.prefix}:{${this.#tag}}:dlm:${messageId}`;
  }

  /** The error history: a capped stream of every error, for `switchboard errors`. */
  errors(): string {
    return this.stream("errors");
  }

  /** Errors counted in one window of the escalation threshold. */
  errorRate(window: number): string {
    return `${this.prefix}:{${this.#tag}}:erate:${window}`;
  }

  /** Held for a window after an alert of one kind, so that a flood raises one alert. */
  alertGate(kind: string): string {
    return `${this.prefix}:{${this.#tag}}:alert:${kind}`;
  }

  /**
   * A shared note (hash): its current version, author and time, and the last versions'
   * content, author and time (`c:N`, `b:N`, `t:N`). One key, so a put is a single-slot
   * script and an expiry takes every version at once.
   */
  note(key: string): string {
    return `${this.prefix}:{n:${key}}:note`;
  }

  /**
   * The directory of notes (zset: key → the time of its last write, ms), for list_notes.
   * Written after the note, in another slot: list skips and prunes entries whose note is gone.
   */
  notes(): string {
    return `${this.prefix}:{dir}:notes`;
  }

  /** A webhook endpoint's circuit breaker (hash), by the SHA-256 of its normalized URL. */
  breaker(endpointHash: string): string {
    return `${this.prefix}:{b:${endpointHash}}:breaker`;
  }

  /** Hash of the endpoints that have a breaker: SHA-256 of the URL → origin and path, for status. */
  breakers(): string {
    return `${this.prefix}:{dir}:breakers`;
  }

  /**
   * The prefix BullMQ puts before the keys of this partition's retry and push queues: in
   * the partition's slot, so a job goes back to the partition its entry came from, and a
   * partition's work stays on one node.
   */
  queuePrefix(): string {
    return `${this.prefix}:{${this.#tag}}:q`;
  }

  /** The live resource leases (hash): lease id → the lease as JSON (expired ones until reaped). */
  leases(): string {
    return `${this.prefix}:{leases}:live`;
  }

  /** Ended leases (hash): lease id → the lease as JSON with how and when it ended. */
  leasesEnded(): string {
    return `${this.prefix}:{leases}:ended`;
  }

  /** Ended leases by when they ended (sorted set, ms), for forgetting them after a while. */
  leasesEndedAt(): string {
    return `${this.prefix}:{leases}:ended-at`;
  }

  /** The last fencing token handed out with a resource lease: each grant's is higher. */
  leaseFence(): string {
    return `${this.prefix}:{leases}:fence`;
  }

  /** Every key of this prefix, for SCAN. */
  all(): string {
    return `${this.prefix}:*`;
  }
}
