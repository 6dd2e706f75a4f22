import { sendCommands } from "../redis/batch.js";
import { context, isSpanContextValid, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { Link, Span } from "@opentelemetry/api";
import type { RedisClient } from "../redis/client.js";
import { carry, Field, parseEntries, text, type FieldList } from "../streams/entry.js";
import type { StreamEntry } from "../streams/entry.js";
import type { ItemReplies } from "../redis/batch.js";
import {
  Attr,
  failSpan,
  isTracing,
  messagingAttributes,
  startChildSpan,
  traceparentOf,
} from "../telemetry/spans.js";

/**
 * Spans of an agent's inbox: `send inbox` when deliver appends a message (one per
 * recipient, child of deliver's span for that recipient; its context goes into the inbox
 * entry), `receive inbox` when fetch hands it out and `settle inbox` when the agent acks it
 * (children of the message's `send inbox`, linked to the fetch or ack tool call). The
 * `read` and `acked` statuses carry the receive and settle contexts to persist.
 */

/** `messaging.destination.template` of inboxes; the name is `inbox:AGENT`. */
const INBOX = "inbox";

function inboxAttributes(operation: string, agent: string, messageId: string | undefined) {
  const attributes = {
    ...messagingAttributes(operation, `${INBOX}:${agent}`),
    [Attr.destinationTemplate]: INBOX,
    [Attr.recipient]: agent,
  };
  return messageId === undefined ? attributes : { ...attributes, [Attr.messageId]: messageId };
}

/** The trace of one inbox append: fields for the inbox entry, and the end. */
export interface InboxSend {
  fields: FieldList;
  /** Ends the span with what `sbInboxAppend` answered. */
  end(answer: ItemReplies): void;
}

/** Starts `send inbox` for a deliver entry (or, untraced, carries the entry's context on). */
export function traceInboxSend(entry: StreamEntry, recipient: string): InboxSend {
  if (!isTracing()) return { fields: carry(entry, [Field.traceparent]), end: () => undefined };
  const span = startChildSpan(`send ${INBOX}`, entry.fields.get(Field.traceparent), {
    kind: SpanKind.PRODUCER,
  });
  if (!span.isRecording()) return NOT_SENT;
  span.setAttributes(inboxAttributes("send", recipient, text(entry, Field.messageId)));
  const traceparent = traceparentOf(span);
  return {
    fields: traceparent === undefined ? [] : [Field.traceparent, traceparent],
    end(answer) {
      if (!answer.ok) failSpan(span, answer.error);
      else endAppend(span, answer.replies[0]);
      span.end();
    },
  };
}

/** An untraced message's inbox entry carries no context. */
const NOT_SENT: InboxSend = Object.freeze({ fields: [], end: () => undefined });

function endAppend(span: Span, reply: unknown): void {
  if (!span.isRecording() || !Array.isArray(reply)) return;
  const [inboxId, appended] = reply as [string, number];
  if (appended === -1) {
    span.setAttribute(Attr.errorType, "INBOX_FULL");
    span.setStatus({ code: SpanStatusCode.ERROR, message: "INBOX_FULL" });
  } else {
    span.setAttribute(Attr.inboxId, inboxId);
    // 0: the marker says it was appended before (a redelivered deliver entry).
    if (appended === 0) span.setAttribute("switchboard.duplicate", true);
  }
}

/** A link to the span active here (the fetch or ack tool call), if any. */
function linkToActive(): Link[] {
  const active = trace.getSpanContext(context.active());
  return active !== undefined && isSpanContextValid(active) ? [{ context: active }] : [];
}

/**
 * Records that fetch handed a message out: `receive inbox`, child of the inbox entry's
 * context. Returns the context the `read` status carries (the entry's, untraced).
 */
export function traceReceive(
  agent: string,
  entry: StreamEntry,
  messageId: string,
  redelivered: boolean,
): string | undefined {
  if (!isTracing()) return text(entry, Field.traceparent);
  const span = startChildSpan(`receive ${INBOX}`, entry.fields.get(Field.traceparent), {
    kind: SpanKind.CONSUMER,
    attributes: {
      ...inboxAttributes("receive", agent, messageId),
      [Attr.inboxId]: entry.id,
      "switchboard.redelivered": redelivered,
    },
    links: linkToActive(),
  });
  const traceparent = span.isRecording() ? traceparentOf(span) : undefined;
  span.end();
  return traceparent;
}

/**
 * The trace contexts of inbox entries, for the settle spans of an ack: one round trip,
 * only when this process traces (undefined for each entry otherwise).
 */
export async function inboxTraceparents(
  redis: RedisClient,
  inbox: string,
  entryIds: readonly string[],
): Promise<(string | undefined)[]> {
  if (!isTracing() || entryIds.length === 0) return [];
  const replies = await sendCommands(redis, (batch) => {
    for (const id of entryIds) batch.xrangeBuffer(inbox, id, id);
  });
  return replies.map(([error, reply]) =>
    error === null ? text(parseEntries(reply)[0] ?? EMPTY, Field.traceparent) : undefined,
  );
}

const EMPTY: StreamEntry = { id: "", fields: new Map() };

/** Records that an agent acked a message: `settle inbox`; returns its context for `acked`. */
export function traceSettle(
  agent: string,
  messageId: string,
  inboxId: string,
  traceparent: string | undefined,
): string | undefined {
  if (!isTracing()) return undefined;
  const span = startChildSpan(`settle ${INBOX}`, traceparent, {
    kind: SpanKind.CLIENT,
    attributes: { ...inboxAttributes("settle", agent, messageId), [Attr.inboxId]: inboxId },
    links: linkToActive(),
  });
  const settled = span.isRecording() ? traceparentOf(span) : undefined;
  span.end();
  return settled;
}
