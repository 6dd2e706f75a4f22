import { SpanKind, SpanStatusCode, type Span } from "@opentelemetry/api";
import type { StageDefinition } from "../config/pipeline.js";
import type { Logger } from "../telemetry/log.js";
import {
  Attr,
  failSpan,
  isTracing,
  logFieldsOf,
  messagingAttributes,
  parseTraceparent,
  skipsSpan,
  startSpanFrom,
  traceparentOf,
} from "../telemetry/spans.js";
import { Field, text, type Output, type StreamEntry } from "./entry.js";
import type { Outcome } from "./stage.js";

/**
 * Tracing of a stage's batches. Each entry gets a consumer span `process <stream>`, child
 * of the context in the entry's `tp` field (a new trace when there is none, or it is
 * malformed); the entry's `tp` is then replaced by that span's, so whatever the handler
 * carries or starts (see `startSpanFrom(name, entry.fields.get(Field.traceparent))`) is
 * its child; and every output of the entry gets that `tp`, so the next stage, in any
 * process, continues the trace. When this process does not trace, outputs carry the
 * entry's `tp` on unchanged.
 */
export interface BatchTrace {
  /** The outcomes, each output carrying its entry's trace context (unless it has its own). */
  stamp(outcomes: readonly Outcome[]): Outcome[];
  /** Awaits the commit, then ends each entry's span with its outcome (or the commit's error). */
  ended<T>(commit: Promise<T>, outcomes: readonly Outcome[]): Promise<T>;
}

type Carried = string | Buffer | undefined;

export function traceBatch(
  stage: StageDefinition,
  entries: readonly StreamEntry[],
  log: Logger,
): BatchTrace {
  if (!isTracing()) {
    const carried = entries.map((entry) => entry.fields.get(Field.traceparent));
    return {
      stamp: (outcomes) => stampAll(outcomes, carried),
      ended: async (commit, outcomes) => {
        const result = await commit;
        logFailures(log, stage, entries, outcomes, (i) => traceIdsOf(carried[i]));
        return result;
      },
    };
  }
  const name = `process ${stage.stream}`;
  const attributes = {
    ...messagingAttributes("process", stage.stream),
    [Attr.consumerGroup]: stage.group,
    [Attr.stage]: stage.name,
  };
  const spans = entries.map((entry): { span?: Span; traceparent: Carried } => {
    const parent = entry.fields.get(Field.traceparent);
    if (skipsSpan(parent)) return { traceparent: parent };
    // Attributes only on a span that records: checking them costs more than the span.
    const span = startSpanFrom(name, parent, { kind: SpanKind.CONSUMER });
    if (span.isRecording()) span.setAttributes({ ...attributes, ...entryAttributes(entry) });
    const traceparent = traceparentOf(span);
    if (traceparent !== undefined) {
      entry.fields.set(Field.traceparent, Buffer.from(traceparent, "latin1"));
    }
    return { span, traceparent };
  });
  const carried = spans.map((s) => s.traceparent);
  return {
    stamp: (outcomes) => stampAll(outcomes, carried),
    ended: async (commit, outcomes) => {
      try {
        const result = await commit;
        spans.forEach(({ span }, i) => {
          if (span !== undefined) endWith(span, outcomes[i]);
        });
        logFailures(log, stage, entries, outcomes, (i) => {
          const span = spans[i]?.span;
          return span === undefined ? traceIdsOf(carried[i]) : logFieldsOf(span);
        });
        return result;
      } catch (error) {
        for (const { span } of spans) {
          if (span === undefined) continue;
          failSpan(span, error);
          span.end();
        }
        throw error;
      }
    },
  };
}

/** What a span records of an entry: ids and routing facts, never a body. */
function entryAttributes(entry: StreamEntry) {
  const attributes: Record<string, string> = { [Attr.entryId]: entry.id };
  const add = (name: string, field: (typeof Field)[keyof typeof Field]) => {
    const value = text(entry, field);
    if (value !== undefined) attributes[name] = value;
  };
  add(Attr.messageId, Field.messageId);
  add(Attr.conversationId, Field.threadId);
  add(Attr.recipient, Field.recipient);
  add(Attr.status, Field.status);
  return attributes;
}

function endWith(span: Span, outcome: Outcome | undefined): void {
  if (span.isRecording() && outcome !== undefined) {
    span.setAttribute(Attr.outcome, outcome.kind);
    if (outcome.kind === "reject" || outcome.kind === "retry") {
      // The code only: an error's message may quote what it refused.
      span.setAttribute(Attr.errorType, outcome.error.code);
      span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error.code });
    }
  }
  span.end();
}

function stampAll(outcomes: readonly Outcome[], carried: readonly Carried[]): Outcome[] {
  return outcomes.map((outcome, i) => {
    const traceparent = carried[i];
    if (outcome.kind !== "forward" || traceparent === undefined) return outcome;
    return { kind: "forward", outputs: outcome.outputs.map((o) => stamped(o, traceparent)) };
  });
}

/** The output with a `tp` field, unless it names its own. */
function stamped(output: Output, traceparent: string | Buffer): Output {
  for (let i = 0; i < output.fields.length; i += 2) {
    if (output.fields[i] === Field.traceparent) return output;
  }
  return { to: output.to, fields: [...output.fields, Field.traceparent, traceparent] };
}

function traceIdsOf(traceparent: Carried): { trace_id?: string } {
  const context = parseTraceparent(traceparent);
  return context === undefined ? {} : { trace_id: context.traceId };
}

/** One debug line per refused or retried entry, with its message id and trace ids. */
function logFailures(
  log: Logger,
  stage: StageDefinition,
  entries: readonly StreamEntry[],
  outcomes: readonly Outcome[],
  ids: (i: number) => object,
): void {
  outcomes.forEach((outcome, i) => {
    if (outcome.kind !== "reject" && outcome.kind !== "retry") return;
    const entry = entries[i]!;
    log.debug(outcome.kind === "reject" ? "entry refused" : "entry left pending for redelivery", {
      stage: stage.name,
      message_id: text(entry, Field.messageId),
      entry_id: entry.id,
      error: outcome.error.code,
      ...ids(i),
    });
  });
}
