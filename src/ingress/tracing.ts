import { context, isSpanContextValid, SpanKind, trace } from "@opentelemetry/api";
import type { Envelope } from "../protocol/envelope.js";
import { Field, type FieldList } from "../streams/entry.js";
import {
  Attr,
  contextFrom,
  failSpan,
  isTracing,
  messagingAttributes,
  tracer,
  traceparentOf,
} from "../telemetry/spans.js";

/** The trace of one accepted message: the fields its ingress entry carries, and the end. */
export interface SendTrace {
  fields: FieldList;
  end(error?: unknown): void;
}

const UNTRACED: SendTrace = Object.freeze({ fields: [], end: () => undefined });

/**
 * The producer span `send <stream>` of a message entering the pipeline: child of the active
 * span (the MCP tool call), else of the envelope's trace context (a client's
 * `_meta.traceparent`), else a new trace. Its context becomes the entry's `tp`, the
 * creation context every later hop descends from. When this process does not trace, the
 * entry carries the envelope's context as it came.
 */
export function traceSend(envelope: Envelope, stream: string): SendTrace {
  if (!isTracing()) {
    const traceparent = envelope.trace?.traceparent;
    return traceparent === undefined
      ? UNTRACED
      : { fields: [Field.traceparent, traceparent], end: () => undefined };
  }
  const active = trace.getSpanContext(context.active());
  const parent =
    active !== undefined && isSpanContextValid(active)
      ? context.active()
      : contextFrom(envelope.trace?.traceparent, envelope.trace?.tracestate);
  const span = tracer.startSpan(
    `send ${stream}`,
    { kind: SpanKind.PRODUCER, attributes: messagingAttributes("send", stream) },
    parent,
  );
  if (span.isRecording()) {
    span.setAttributes({
      [Attr.messageId]: envelope.id,
      [Attr.conversationId]: envelope.thread_id,
      [Attr.sender]: envelope.from,
    });
  }
  const traceparent = traceparentOf(span);
  return {
    fields: traceparent === undefined ? [] : [Field.traceparent, traceparent],
    end(error) {
      if (error !== undefined && error !== null) failSpan(span, error);
      span.end();
    },
  };
}
