import { SpanKind, SpanStatusCode, type Span } from "@opentelemetry/api";
import type { Output, StreamEntry } from "../streams/entry.js";
import { Field, text } from "../streams/entry.js";
import type { Outcome } from "../pipeline/stage.js";
import { Attr, messagingAttributes, startChildSpan, traceparentOf } from "../telemetry/spans.js";

/** A span for one try of a job: a webhook POST, or a stage's handler run again. */
export interface AttemptTrace {
  /** Ends the span with what the try came to; returns the outcome with its outputs stamped. */
  end<O extends Outcome>(outcome: O): O;
}

/**
 * Starts the span of one try, a child of the context the entry carries (`tp`; none for a
 * message that is not traced), so every attempt and retry of a message is in the
 * message's trace, whichever process runs it.
 * Entries written on the way (a delivered status, a retrying status) carry the span's
 * context on, so persist's handling of them is its child.
 */
export function traceAttempt(
  name: string,
  destination: string,
  entry: StreamEntry,
  attempt: number,
): AttemptTrace {
  const span: Span = startChildSpan(name, entry.fields.get(Field.traceparent), {
    kind: name.startsWith("send") ? SpanKind.CLIENT : SpanKind.CONSUMER,
    attributes: {
      ...messagingAttributes(name.split(" ")[0]!, destination),
      [Attr.messageId]: text(entry, Field.messageId) ?? "",
      [Attr.recipient]: text(entry, Field.recipient) ?? "",
      "switchboard.attempt": attempt,
    },
  });
  // Only a recorded span's context goes on: an unsampled message carries none further.
  const traceparent = span.isRecording() ? traceparentOf(span) : undefined;
  return {
    end(outcome) {
      span.setAttribute(Attr.outcome, outcome.kind);
      if (outcome.kind === "reject" || outcome.kind === "retry" || outcome.kind === "dead_letter") {
        span.setAttribute(Attr.errorType, outcome.error.code);
        span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error.code });
      }
      span.end();
      if (traceparent === undefined || outcome.kind !== "forward") return outcome;
      const outputs = outcome.outputs.map((o): Output => ({
        to: o.to,
        fields: [...o.fields, Field.traceparent, traceparent],
      }));
      return { ...outcome, outputs };
    },
  };
}
