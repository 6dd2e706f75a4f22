/**
 * The one place where Redis key names are built. Nothing else writes a key string.
 *
 * Keys share a hash tag (the part in braces) exactly when one Lua script must touch them
 * together, so the layout works unchanged on a Redis Cluster:
 * - `{p0}`: a partition's stage streams and its dead letters (forward + ack is one script);
 * - `{a:NAME}`: an agent's inbox and its delivery dedupe markers;
 * - `{s:NAME}`: a sender's idempotency keys;
 * - `{m:ID}`: one message record;
 * - `{t:ID}`: a thread's sequence counter and index.
 */
export class Keys {
  readonly prefix: string;
  readonly partition: number;

  constructor(prefix: string, partition = 0) {
    this.prefix = prefix;
    this.partition = partition;
  }

  /** A stage stream (or the dead-letter stream) of this partition. */
  stream(name: string): string {
    return `${this.prefix}:{p${this.partition}}:${name}`;
  }

  inbox(agent: string): string {
    return `${this.prefix}:{a:${agent}}:inbox`;
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

  /** Every key of this prefix, for SCAN. */
  all(): string {
    return `${this.prefix}:*`;
  }
}
