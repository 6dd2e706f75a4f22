import type { RedisClient } from "../redis/client.js";
import type { Pipeline } from "../config/pipeline.js";
import type { Target } from "../protocol/envelope.js";
import { SwitchboardError } from "../protocol/errors.js";
import { UUID_V7_PATTERN } from "../protocol/ids.js";
import { contentOf, type MessageContent } from "../protocol/message.js";
import type { MessageStatus, RecipientStatus } from "../protocol/status.js";
import type { Keys } from "../redis/keys.js";
import {
  readMessageRecord,
  readThreadIndex,
  withScores,
  type MessageRecord,
  type StatusState,
} from "./record.js";

/** A message as its sender and recipients see it: content and where it stands for each. */
export interface MessageView extends MessageContent {
  to: Target;
  status: StatusState<MessageStatus> | undefined;
  recipients: Record<string, StatusState<RecipientStatus>>;
}

/** Reads message records and thread indexes, showing each only to its sender and recipients. */
export class History {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly pipeline: Pipeline,
  ) {}

  async message(caller: string, messageId: string): Promise<MessageView> {
    const view = toView(
      await readMessageRecord(this.redis, this.keys, messageId, this.pipeline.limits),
    );
    if (view === undefined || !visibleTo(view, caller)) {
      throw new SwitchboardError(
        "NOT_FOUND",
        `no message ${messageId} that you sent or received; check the id (ids come back from send_message and fetch_inbox)`,
        { field: "message_id" },
      );
    }
    return view;
  }

  /** The thread id of a message the caller may see. */
  async threadOf(caller: string, messageId: string): Promise<string> {
    return (await this.message(caller, messageId)).thread_id;
  }

  /**
   * The messages of a thread the caller sent or received, in sequence order; all of them
   * for an operator (`caller` null: the CLI).
   */
  async thread(caller: string | null, threadId: string): Promise<MessageView[]> {
    // A thread made for its first message has that message's id and no index entry for it.
    const index = (await readThreadIndex(this.redis, this.keys, threadId)).map((e) => e.message_id);
    const ids =
      UUID_V7_PATTERN.test(threadId) && !index.includes(threadId) ? [threadId, ...index] : index;
    const records = await Promise.all(
      ids.map((message_id) =>
        readMessageRecord(this.redis, this.keys, message_id, this.pipeline.limits),
      ),
    );
    const views = records
      .map(toView)
      .filter(
        (v): v is MessageView => v !== undefined && (caller === null || visibleTo(v, caller)),
      );
    if (views.length === 0) {
      throw new SwitchboardError(
        "NOT_FOUND",
        `no thread ${threadId} with messages you sent or received; check the id`,
        {
          field: "thread_id",
        },
      );
    }
    return views;
  }

  /** A message for an operator (the web console), with the trace id it was sent in. */
  async inspect(messageId: string): Promise<{ message: MessageView; trace_id: string | null }> {
    const record = await readMessageRecord(this.redis, this.keys, messageId, this.pipeline.limits);
    const message = toView(record);
    if (message === undefined) {
      throw new SwitchboardError(
        "NOT_FOUND",
        `no message ${messageId}; check the id (records are kept history.retentionMs)`,
        { field: "message_id" },
      );
    }
    const traceparent = record?.envelope?.trace?.traceparent;
    return { message, trace_id: traceparent?.split("-")[1] ?? null };
  }

  /**
   * A page of a thread for an operator: up to `limit` messages with a sequence number above
   * `after`, in order, and the `after` of the next page (null at the end). A thread of
   * 10,000 messages is read a page at a time, never whole.
   */
  async page(
    threadId: string,
    after: number,
    limit: number,
  ): Promise<{ messages: MessageView[]; next_after: number | null }> {
    const flat = await this.redis.zrangebyscore(
      this.keys.thread(threadId),
      `(${after}`,
      "+inf",
      "WITHSCORES",
      "LIMIT",
      0,
      limit + 1,
    );
    const listed: { id: string; seq: number }[] = [];
    // A thread made for its first message has that message's id and no index entry for it.
    if (after < 1 && UUID_V7_PATTERN.test(threadId)) listed.push({ id: threadId, seq: 1 });
    for (const [id, seq] of withScores(flat)) if (id !== threadId) listed.push({ id, seq });
    const shown = listed.slice(0, limit);
    const records = await Promise.all(
      shown.map(({ id }) => readMessageRecord(this.redis, this.keys, id, this.pipeline.limits)),
    );
    const messages = records.map(toView).filter((v): v is MessageView => v !== undefined);
    if (after < 1 && messages.length === 0) {
      throw new SwitchboardError("NOT_FOUND", `no thread ${threadId}; check the id`, {
        field: "thread_id",
      });
    }
    return {
      messages,
      next_after: listed.length > limit ? (shown.at(-1)?.seq ?? null) : null,
    };
  }
}

/** Whether the caller sent or received it: an own key of `recipients`, never an inherited one. */
function visibleTo(view: MessageView, caller: string): boolean {
  return view.from === caller || Object.hasOwn(view.recipients, caller);
}

function toView(record: MessageRecord | undefined): MessageView | undefined {
  const envelope = record?.envelope;
  if (record === undefined || envelope === undefined) return undefined;
  return {
    ...contentOf(envelope),
    to: envelope.to,
    status: record.status,
    recipients: record.recipients,
  };
}
