import type { RedisClient } from "../redis/client.js";
import type { Pipeline } from "../config/pipeline.js";
import type { Keys } from "../redis/keys.js";
import { compareStreamIds } from "../redis/stream-ids.js";
import { Field, text, type StreamEntry } from "../streams/entry.js";
import type { InboxMessage } from "./inbox.js";
import { inboxAckScript } from "./scripts.js";
import { reportStatuses, type StatusReport } from "./statuses.js";
import { traceReceive } from "./tracing.js";

/** An entry fetch took from an inbox: new, or handed out before and not acknowledged in time. */
export interface Taken {
  entry: StreamEntry;
  redelivered: boolean;
}

/**
 * Hands out what fetch took, given the messages the entries point to (in the same order,
 * undefined where the record is gone), oldest first. Each one handed out is reported
 * read; one that expired, or whose record is gone, is never handed out: it is
 * acknowledged and reported expired, so the sender is told.
 */
export async function handOut(
  redis: RedisClient,
  keys: Keys,
  pipeline: Pipeline,
  agent: string,
  taken: readonly Taken[],
  messages: readonly (InboxMessage | undefined)[],
): Promise<InboxMessage[]> {
  const now = Date.now();
  const live: InboxMessage[] = [];
  const reports: StatusReport[] = [];
  const expiredIds: string[] = [];
  taken.forEach(({ entry, redelivered }, i) => {
    const message = messages[i];
    const messageId = text(entry, Field.messageId) ?? "";
    const expired =
      message === undefined ||
      (message.expires_at !== undefined && Date.parse(message.expires_at) <= now);
    if (!expired) {
      live.push({ ...message, redelivered });
      const traceparent = traceReceive(agent, entry, messageId, redelivered);
      reports.push({ messageId, recipient: agent, status: "read", traceparent });
      return;
    }
    expiredIds.push(entry.id);
    reports.push({
      messageId,
      recipient: agent,
      status: "expired",
      traceparent: text(entry, Field.traceparent),
      error: {
        code: "EXPIRED",
        message:
          message === undefined
            ? `message ${messageId} is gone: past history retention before ${agent} fetched it`
            : `message expired at ${message.expires_at} before ${agent} fetched it`,
        field: "expires_at",
      },
    });
  });
  if (expiredIds.length > 0) {
    await inboxAckScript.run(redis, { keys, agent, entryIds: expiredIds });
  }
  await reportStatuses(redis, keys, pipeline, reports);
  return live.sort((a, b) => compareStreamIds(a.inbox_id, b.inbox_id));
}
