import type { RedisClient } from "../redis/client.js";
import { INBOX_GROUP } from "../streams/groups.js";
import type { Pipeline } from "../config/pipeline.js";
import type { Envelope } from "../protocol/envelope.js";
import { contentOf, type MessageContent } from "../protocol/message.js";
import { MAX_FETCH_WAIT_SECONDS } from "../protocol/tools.js";
import { decodeStored, readStoredEnvelopes } from "../history/record.js";
import { Field, parseEntries, text, type StreamEntry } from "../streams/entry.js";
import { ensureGroup } from "../streams/groups.js";
import "../redis/buffer-commands.js";
import type { Keys } from "../redis/keys.js";
import { readGroups } from "../redis/info.js";
import { exclusiveStart, streamIdTime } from "../redis/stream-ids.js";
import { recordAcked } from "../telemetry/record.js";
import { handOut, type Taken } from "./hand-out.js";
import type { MailAnnouncements } from "./mail.js";
import {
  inboxAckScript,
  inboxDigestScript,
  inboxSkipTakenScript,
  inboxTakeScript,
} from "./scripts.js";
import { reportStatuses, type StatusReport } from "./statuses.js";
import { inboxTraceparents, traceSettle } from "./tracing.js";

/** How often a waiting fetch re-checks Redis, in case an announcement was missed. */
const RECHECK_MS = 1000;

export interface InboxMessage extends MessageContent {
  /** The entry id in the inbox stream: a cursor for `replay`. */
  inbox_id: string;
  /** Handed out before and not acknowledged within the visibility timeout. */
  redelivered: boolean;
}

export interface Digest {
  /** Messages waiting for this agent, fetched or not, unacknowledged. */
  unread: number;
  /** Age of the oldest of them, seconds; null when there are none. */
  oldest_waiting_seconds: number | null;
}

export interface AckResult {
  acked: string[];
  already_acked: string[];
  unknown: string[];
}

export function toInboxMessage(
  envelope: Envelope,
  inboxId: string,
  redelivered = false,
): InboxMessage {
  return { ...contentOf(envelope), inbox_id: inboxId, redelivered };
}

/**
 * An agent's inbox: a stream read through one consumer group. Fetch hands out the oldest
 * unacknowledged messages first (those whose visibility timeout ran out, then new ones),
 * long-polling when there are none; ack is idempotent; expired messages are never handed
 * out (the sender is told).
 */
export class Inbox {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly pipeline: Pipeline,
    private readonly mail: MailAnnouncements,
  ) {}

  async fetch(
    agent: string,
    options: { limit: number; waitSeconds: number; signal?: AbortSignal },
  ): Promise<InboxMessage[]> {
    const deadline = Date.now() + Math.min(options.waitSeconds, MAX_FETCH_WAIT_SECONDS) * 1000;
    for (;;) {
      // A caller that gave up gets nothing handed out: mail waits for the next fetch.
      if (options.signal?.aborted === true) return [];
      const messages = await this.#take(agent, options.limit);
      const left = deadline - Date.now();
      if (messages.length > 0 || left <= 0) return messages;
      await this.mail.waitFor({ agent }, Math.min(left, RECHECK_MS), options.signal);
    }
  }

  async ack(agent: string, messageIds: readonly string[]): Promise<AckResult> {
    const unique = [...new Set(messageIds)];
    const markers =
      unique.length === 0
        ? []
        : await this.redis.mget(unique.map((id) => this.keys.delivered(agent, id)));
    const known = unique.filter((_, i) => markers[i] !== null);
    const entryIds = markers.filter((m): m is string => m !== null);
    const result: AckResult = {
      acked: [],
      already_acked: [],
      unknown: unique.filter((_, i) => markers[i] === null),
    };
    if (entryIds.length === 0) return result;
    const [flags, traceparents] = await Promise.all([
      inboxAckScript.run(this.redis, { keys: this.keys, agent, entryIds }),
      inboxTraceparents(this.redis, this.keys.inbox(agent), entryIds),
    ]);
    const reports: StatusReport[] = [];
    known.forEach((id, i) => {
      if (flags[i] !== 1) {
        result.already_acked.push(id);
        return;
      }
      result.acked.push(id);
      const traceparent = traceSettle(agent, id, entryIds[i]!, traceparents[i]);
      reports.push({ messageId: id, recipient: agent, status: "acked", traceparent });
    });
    recordAcked(result.acked);
    await reportStatuses(this.redis, this.keys, this.pipeline, reports);
    return result;
  }

  async digest(agent: string): Promise<Digest> {
    const [unread, oldest] = await inboxDigestScript.run(this.redis, { keys: this.keys, agent });
    return {
      unread,
      oldest_waiting_seconds:
        unread === 0 || oldest === ""
          ? null
          : Math.max(0, Math.round((Date.now() - streamIdTime(oldest)) / 1000)),
    };
  }

  /** One message of this inbox, by message id (whether acknowledged or not). */
  async read(agent: string, messageId: string): Promise<InboxMessage | undefined> {
    const entryId = await this.redis.get(this.keys.delivered(agent, messageId));
    if (entryId === null) return undefined;
    const entries = parseEntries(
      await this.redis.xrangeBuffer(this.keys.inbox(agent), entryId, entryId),
    );
    return (await this.#messages(entries))[0];
  }

  /**
   * Takes a message out of the inbox for a sender that awaited it as a reply: it is not
   * handed out by fetch afterwards. Returns it, or undefined if it was handled before.
   */
  async take(agent: string, messageId: string): Promise<InboxMessage | undefined> {
    const message = await this.read(agent, messageId);
    if (message === undefined) return undefined;
    const taken = await inboxTakeScript.run(this.redis, {
      keys: this.keys,
      agent,
      entryId: message.inbox_id,
      takenTtlMs: this.pipeline.dedupe.deliveryWindowMs,
    });
    if (taken === 0) return undefined;
    recordAcked([messageId]);
    await reportStatuses(this.redis, this.keys, this.pipeline, [
      { messageId, recipient: agent, status: "acked" },
    ]);
    return message;
  }

  /** Every message of this inbox after a cursor (an inbox id), oldest first. */
  async after(agent: string, cursor: string, limit: number): Promise<InboxMessage[]> {
    const start = cursor === "0" || cursor === "0-0" ? "-" : exclusiveStart(cursor);
    if (start === undefined) return [];
    const entries = parseEntries(
      await this.redis.xrangeBuffer(this.keys.inbox(agent), start, "+", "COUNT", limit),
    );
    return (await this.#messages(entries)).filter((m): m is InboxMessage => m !== undefined);
  }

  /**
   * The unacknowledged messages of this inbox, oldest first, without handing them out:
   * those fetched and not yet acknowledged, then those not fetched yet.
   */
  async waiting(agent: string, limit: number): Promise<InboxMessage[]> {
    const inbox = this.keys.inbox(agent);
    const [pending, groups] = await Promise.all([
      this.redis.xpending(inbox, INBOX_GROUP, "-", "+", limit) as Promise<[string][]>,
      readGroups(this.redis, inbox),
    ]);
    const fetched = (
      await Promise.all(pending.map(([id]) => this.redis.xrangeBuffer(inbox, id, id)))
    ).flatMap((reply) => parseEntries(reply));
    const lastDelivered = groups.find((g) => g.name === INBOX_GROUP)?.lastDeliveredId ?? "0-0";
    const room = limit - fetched.length;
    const fresh =
      room <= 0
        ? []
        : parseEntries(
            await this.redis.xrangeBuffer(inbox, `(${lastDelivered}`, "+", "COUNT", room),
          );
    const entries = [...fetched, ...fresh];
    const taken =
      entries.length === 0
        ? []
        : await this.redis.smismember(this.keys.taken(agent), ...entries.map((e) => e.id));
    const untaken = entries.filter((_, i) => taken[i] !== 1);
    return (await this.#messages(untaken)).filter((m): m is InboxMessage => m !== undefined);
  }

  /** The newest messages of this inbox, handled or not, oldest first; hands nothing out. */
  async peek(agent: string, limit: number): Promise<InboxMessage[]> {
    const entries = parseEntries(
      await this.redis.xrevrangeBuffer(this.keys.inbox(agent), "+", "-", "COUNT", limit),
    );
    return (await this.#messages(entries.reverse())).filter(
      (m): m is InboxMessage => m !== undefined,
    );
  }

  /** Redelivers what outlived the visibility timeout, then new mail; drops what expired. */
  async #take(agent: string, limit: number): Promise<InboxMessage[]> {
    const inbox = this.keys.inbox(agent);
    let claimed: StreamEntry[];
    try {
      const reply = await this.redis.xautoclaimBuffer(
        inbox,
        INBOX_GROUP,
        agent,
        this.pipeline.inbox.visibilityTimeoutMs,
        "0-0",
        "COUNT",
        limit,
      );
      claimed = parseEntries(reply[1]);
    } catch (error) {
      if (!String((error as Error).message).startsWith("NOGROUP")) throw error;
      await ensureGroup(this.redis, inbox, INBOX_GROUP);
      claimed = [];
    }
    const room = limit - claimed.length;
    const reply =
      room <= 0
        ? null
        : await this.redis.xreadgroupBuffer(
            "GROUP",
            INBOX_GROUP,
            agent,
            "COUNT",
            room,
            "STREAMS",
            inbox,
            ">",
          );
    const fresh = await this.#withoutTaken(agent, parseEntries(reply?.[0]?.[1]));
    const taken: Taken[] = [
      ...claimed.map((e) => ({ entry: e, redelivered: true })),
      ...fresh.map((e) => ({ entry: e, redelivered: false })),
    ];
    const messages = await this.#messages(taken.map((t) => t.entry));
    return handOut(this.redis, this.keys, this.pipeline, agent, taken, messages);
  }

  /** Drops (and acknowledges) entries taken out as awaited replies. */
  async #withoutTaken(agent: string, entries: StreamEntry[]): Promise<StreamEntry[]> {
    if (entries.length === 0) return entries;
    const ids = entries.map((e) => e.id);
    const taken = await inboxSkipTakenScript.run(this.redis, {
      keys: this.keys,
      agent,
      entryIds: ids,
    });
    return taken.length === 0 ? entries : entries.filter((e) => !taken.includes(e.id));
  }

  /**
   * The messages inbox entries point to, read from their records in one round trip
   * (inbox entries carry only the id and the thread sequence); undefined where the
   * record is gone.
   */
  async #messages(entries: readonly StreamEntry[]): Promise<(InboxMessage | undefined)[]> {
    const ids = entries.map((e) => text(e, Field.messageId) ?? "");
    const stored = await readStoredEnvelopes(this.redis, this.keys, ids);
    return entries.map((entry, i) => {
      const s = stored[i];
      if (s === undefined) return undefined;
      const envelope = decodeStored(
        { ...s, seq: s.seq ?? entry.fields.get(Field.seq) },
        this.pipeline.limits,
      );
      return toInboxMessage(envelope, entry.id);
    });
  }
}
