import {
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Attributes,
  type Span,
} from "@opentelemetry/api";
import { STAGE_NAMES, type StageDefinition } from "../config/pipeline.js";
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
import { Field, text, type Output, type StreamEntry } from "../streams/entry.js";
import type { Outcome } from "./stage.js";

/**
 * Tracing of a stage's batches. Each entry of a traced message gets a consumer span
 * `process <stream>`, child of the context in the entry's `tp` field; the entry's `tp` is
 * then replaced by that span's, so whatever the handler carries or starts (see
 * `startChildSpan(name, entry.fields.get(Field.traceparent))`) is its child; and every
 * output of the entry gets that `tp`, so the next stage, in any process, continues the
 * trace.
 *
 * Only the first stage starts traces (for producers that bypass the front end, which
 * starts them otherwise), and a malformed `tp` starts a new one anywhere. A message that
 * is not sampled loses its `tp` at the first traced stage (the entry's too, for the
 * handler): later stages make no span for an entry without one, and carry nothing, so at
 * 1% sampling 99% of the messages cost them next to nothing. When this process does not trace, outputs carry the entry's `tp`
 * on unchanged.
 */
export interface BatchTrace {
  /** The outcomes, each output carrying its entry's trace context (unless it has its own). */
  stamp(outcomes: readonly Outcome[]): Outcome[];
  /** Awaits the commit, then ends each entry's span with its outcome (or the commit's error). */
  ended<T>(commit: Promise<T>, outcomes: readonly Outcome[]): Promise<T>;
}

type Carried = string | undefined;

export function traceBatch(
  stage: StageDefinition,
  entries: readonly StreamEntry[],
  log: Logger,
): BatchTrace {
  const carried: Carried[] = new Array<Carried>(entries.length);
  // The spans of sampled entries, by index.
  const spans = new Map<number, Span>();
  const tracing = isTracing();
  const startsTraces = stage.name === STAGE_NAMES[0];
  const name = `process ${stage.stream}`;
  for (let i = 0; i < entries.length; i += 1) {
    const entry = entries[i]!;
    const parent = entry.fields.get(Field.traceparent);
    if (!tracing) {
      // As a string: one Buffer argument turns a whole command into ioredis's slower
      // buffer mode (a batch's commit, most of all).
      carried[i] = parent?.toString("latin1");
      continue;
    }
    const untraced = (parent === undefined && !startsTraces) || skipsSpan(parent);
    const span = untraced ? undefined : startSpanFrom(name, parent, { kind: SpanKind.CONSUMER });
    if (span === undefined || !isSampled(span)) {
      // Not sampled: the handler, rejections and later stages see no context.
      if (parent !== undefined) entry.fields.delete(Field.traceparent);
      continue;
    }
    // Attributes only on a span that records: checking them costs more than the span.
    if (span.isRecording()) span.setAttributes(processAttributes(stage, entry));
    const traceparent = traceparentOf(span);
    if (traceparent !== undefined) {
      entry.fields.set(Field.traceparent, Buffer.from(traceparent, "latin1"));
    }
    carried[i] = traceparent;
    spans.set(i, span);
  }
  const idsOf = (i: number) => {
    const span = spans.get(i);
    return span === undefined ? traceIdsOf(carried[i]) : logFieldsOf(span);
  };
  return {
    stamp: (outcomes) => stampAll(outcomes, carried),
    ended: async (commit, outcomes) => {
      try {
        const result = await commit;
        spans.forEach((span, i) => endWith(span, outcomes[i]));
        logFailures(log, stage, entries, outcomes, idsOf);
        return result;
      } catch (error) {
        for (const span of spans.values()) {
          failSpan(span, error);
          span.end();
        }
        throw error;
      }
    },
  };
}

/** What a span records of an entry: ids and routing facts, never a body. */
function processAttributes(stage: StageDefinition, entry: StreamEntry): Attributes {
  const attributes: Attributes = {
    ...messagingAttributes("process", stage.stream),
    [Attr.consumerGroup]: stage.group,
    [Attr.stage]: stage.name,
    [Attr.entryId]: entry.id,
  };
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

function isSampled(span: Span): boolean {
  return (span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0;
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
  const stampedOutcomes = outcomes.slice();
  for (let i = 0; i < outcomes.length; i += 1) {
    const outcome = outcomes[i]!;
    const traceparent = carried[i];
    if (outcome.kind !== "forward" || traceparent === undefined) continue;
    const outputs = new Array<Output>(outcome.outputs.length);
    for (let j = 0; j < outputs.length; j += 1) {
      outputs[j] = stamped(outcome.outputs[j]!, traceparent);
    }
    stampedOutcomes[i] = { kind: "forward", outputs };
  }
  return stampedOutcomes;
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
  for (let i = 0; i < outcomes.length; i += 1) {
    const outcome = outcomes[i]!;
    if (outcome.kind !== "reject" && outcome.kind !== "retry") continue;
    const entry = entries[i]!;
    log.debug(outcome.kind === "reject" ? "entry refused" : "entry left pending for redelivery", {
      stage: stage.name,
      message_id: text(entry, Field.messageId),
      entry_id: entry.id,
      error: outcome.error.code,
      ...ids(i),
    });
  }
}
