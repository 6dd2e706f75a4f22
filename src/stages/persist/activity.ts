import type { ChainableCommander } from "ioredis";
import type { ActivityEvent } from "../../protocol/activity.js";
import { encodeActivity } from "../../protocol/activity.js";
import { ConsoleKeys } from "../../redis/console-keys.js";
import { Field, text, type StreamEntry } from "../../streams/entry.js";
import type { StageContext } from "../../pipeline/stage.js";

/**
 * The threads the console lists, newest first, are trimmed to this many.
 * @defaultValue 1000
 */
const RECENT_THREADS = 1000;

/** Statuses after which the dead letters are not what they were. */
const DEAD_LETTER_STATUSES: ReadonlySet<string> = new Set(["dead_lettered", "replayed"]);

/**
 * The batch's writes for the web console, riding persist's own batch (no round trip of
 * their own): the routed messages' threads move to the top of the recent threads (one
 * ZADD and one trim for the batch), and one PUBLISH on the activity channel tells
 * consoles what reached which status.
 */
export function recordActivity(
  context: StageContext,
  entries: readonly StreamEntry[],
): ((batch: ChainableCommander) => void) | undefined {
  const events: ActivityEvent[] = [];
  const threads: (string | number)[] = [];
  const at = context.now();
  let deadLetters = false;
  for (const entry of entries) {
    const kind = text(entry, Field.kind);
    const messageId = text(entry, Field.messageId);
    if (messageId === undefined || (kind !== "routed" && kind !== "status")) continue;
    const status = kind === "routed" ? "routed" : (text(entry, Field.status) ?? "unknown");
    const threadId = text(entry, Field.threadId) ?? null;
    if (kind === "routed" && threadId !== null) threads.push(at, threadId);
    if (DEAD_LETTER_STATUSES.has(status)) deadLetters = true;
    events.push({
      kind: "message",
      message_id: messageId,
      thread_id: threadId,
      status,
      from: text(entry, Field.from) ?? null,
    });
  }
  if (deadLetters) events.push({ kind: "dead_letters" });
  if (events.length === 0) return undefined;
  const keys = new ConsoleKeys(context.keys);
  return function writeActivity(batch) {
    if (threads.length > 0) {
      batch
        .zadd(keys.recentThreads(), ...threads)
        .zremrangebyrank(keys.recentThreads(), 0, -(RECENT_THREADS + 1));
    }
    batch.publish(keys.activityChannel(), encodeActivity(events));
  };
}
