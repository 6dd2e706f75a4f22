import type { History, MessageView } from "../history/history.js";
import type { Inbox, InboxMessage } from "../inbox/inbox.js";
import type { ToolInput } from "../protocol/tools.js";

export interface Replayed {
  messages: (InboxMessage | MessageView)[];
  next_cursor: string | null;
}

/**
 * Hands the caller its messages again: a thread (in order, paged by sequence number), or
 * its inbox after a cursor (an inbox id, stable across restarts and front ends).
 * Read-only, so idempotent; the next page starts at `next_cursor`, null at the end.
 */
export async function replayMessages(
  history: History,
  inbox: Inbox,
  agent: string,
  input: ToolInput<"replay">,
): Promise<Replayed> {
  if (input.thread_id !== undefined) {
    const after = Number(input.after ?? 0);
    const rest = (await history.thread(agent, input.thread_id)).filter((m) => (m.seq ?? 0) > after);
    return page(rest, input.limit, (m) => String(m.seq));
  }
  // One more than asked shows whether a next page exists.
  const messages = await inbox.after(agent, input.after ?? "0", input.limit + 1);
  return page(messages, input.limit, (m) => m.inbox_id);
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
