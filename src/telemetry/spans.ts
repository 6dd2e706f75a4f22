import {
  context,
  createTraceState,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  isValidSpanId,
  isValidTraceId,
  ROOT_CONTEXT,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanContext,
  type SpanOptions,
} from "@opentelemetry/api";

/**
 * Span helpers on the OpenTelemetry API alone (the SDK is loaded by `tracing.ts`, and only
 * when tracing is configured). Trace context crosses processes as a W3C `traceparent`
 * string: in the envelope, in every stage entry (field `tp`), in inbox entries. Whatever
 * reads one from outside (a client's `_meta`, an entry) goes through
 * {@link parseTraceparent}: a malformed value counts as absent, and a new trace starts.
 */

/** Attribute names: OpenTelemetry messaging and MCP semantic conventions, and our own. */
export const Attr = {
  messagingSystem: "messaging.system",
  /** The newer name of `messaging.system` (semantic conventions 1.3x); both are written. */
  messagingSystemName: "messaging.system.name",
  operationType: "messaging.operation.type",
  operationName: "messaging.operation.name",
  destination: "messaging.destination.name",
  destinationTemplate: "messaging.destination.template",
  consumerGroup: "messaging.consumer.group.name",
  messageId: "messaging.message.id",
  conversationId: "messaging.message.conversation_id",
  errorType: "error.type",
  mcpMethod: "mcp.method.name",
  mcpSession: "mcp.session.id",
  jsonRpcRequestId: "jsonrpc.request.id",
  toolName: "gen_ai.tool.name",
  genAiOperation: "gen_ai.operation.name",
  stage: "switchboard.stage",
  entryId: "switchboard.entry_id",
  agent: "switchboard.agent",
  sender: "switchboard.sender",
  recipient: "switchboard.recipient",
  status: "switchboard.status",
  outcome: "switchboard.outcome",
  inboxId: "switchboard.inbox_id",
} as const;

/** `messaging.system`: the broker Switchboard's stages and inboxes talk to. */
export const MESSAGING_SYSTEM = "redis_streams";

/** The attributes every messaging span starts with. */
export function messagingAttributes(operation: string, destination: string): Attributes {
  return {
    [Attr.messagingSystem]: MESSAGING_SYSTEM,
    [Attr.messagingSystemName]: MESSAGING_SYSTEM,
    [Attr.operationType]: operation,
    [Attr.operationName]: operation,
    [Attr.destination]: destination,
  };
}

let enabled = false;
let parentBased = false;

/** Whether this process records traces (set by `startTracing`); when not, spans are skipped. */
export function isTracing(): boolean {
  return enabled;
}

/** For `tracing.ts` only: tracing on or off, and whether the sampler follows the parent. */
export function setTracing(on: boolean, followsParent = false): void {
  enabled = on;
  parentBased = on && followsParent;
}

/**
 * Whether a child of `traceparent` would be dropped anyway: a well-formed, unsampled parent
 * under a parent-based sampler (the default, and `parentbased_traceidratio`). Such a hop
 * makes no span and carries the parent's context on as it is: at 1% sampling, 99% of the
 * hops cost this check, not a span.
 */
export function skipsSpan(traceparent: string | Buffer | undefined): boolean {
  if (!parentBased || traceparent === undefined || traceparent.length !== 55) return false;
  return isUnsampledVersion0(
    typeof traceparent === "string" ? Buffer.from(traceparent, "latin1") : traceparent,
  );
}

/** `00-` 32 hex `-` 16 hex `-` 2 hex, sampled bit clear; byte by byte (cheaper than a pattern). */
function isUnsampledVersion0(value: Buffer): boolean {
  let digit = 0;
  for (let i = 0; i < 55; i += 1) {
    const c = value[i]!;
    if (i === 2 || i === 35 || i === 52) {
      if (c !== 0x2d) return false;
    } else if (c >= 0x30 && c <= 0x39) {
      digit = c - 0x30;
    } else if (c >= 0x61 && c <= 0x66) {
      digit = c - 0x57;
    } else {
      return false;
    }
    if (i < 2 && digit !== 0) return false;
  }
  return (digit & 1) === 0;
}

/** The tracer of Switchboard's own spans (a no-op until a provider is registered). */
export const tracer = trace.getTracer("switchboard");

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/**
 * The span context in a W3C `traceparent` (and `tracestate`), or undefined when it is
 * missing or malformed: wrong shape, version `ff`, all-zero ids, or extra fields on
 * version 00.
 */
export function parseTraceparent(
  traceparent: string | Buffer | undefined,
  tracestate?: string,
): SpanContext | undefined {
  if (traceparent === undefined) return undefined;
  const match = TRACEPARENT.exec(
    typeof traceparent === "string" ? traceparent : traceparent.toString("latin1"),
  );
  if (match === null) return undefined;
  const [, version, traceId, spanId, flags, rest] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string | undefined,
  ];
  if (version === "ff" || (version === "00" && rest !== undefined)) return undefined;
  if (!isValidTraceId(traceId) || !isValidSpanId(spanId)) return undefined;
  const context: SpanContext = {
    traceId,
    spanId,
    traceFlags: parseInt(flags, 16) & 1,
    isRemote: true,
  };
  if (tracestate !== undefined && tracestate !== "") {
    context.traceState = createTraceState(tracestate);
  }
  return context;
}

/** A span context as a `traceparent` (version 00). */
export function formatTraceparent(context: SpanContext): string {
  return `00-${context.traceId}-${context.spanId}-0${context.traceFlags & 1}`;
}

/** The context a `traceparent` names, to start children in; the root context when none. */
export function contextFrom(
  traceparent: string | Buffer | undefined,
  tracestate?: string,
): Context {
  const parent = parseTraceparent(traceparent, tracestate);
  return parent === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, parent);
}

/** A span's `traceparent`, to carry on with a message; undefined for an invalid context. */
export function traceparentOf(span: Span | undefined): string | undefined {
  const sc = span?.spanContext();
  return sc !== undefined && isSpanContextValid(sc) ? formatTraceparent(sc) : undefined;
}

/** The `traceparent` of the span active here (the tool call, a BullMQ job), if any. */
export function activeTraceparent(): string | undefined {
  return traceparentOf(trace.getActiveSpan());
}

/**
 * Starts a span as a child of the context in `traceparent`, or the root of a new trace when
 * it is missing or malformed: for the places that start traces (a tool call, the first
 * stage). Not made active: pass it to {@link withSpan} for that. When this process does
 * not trace, the span is a no-op that carries the parent's context on unchanged.
 */
export function startSpanFrom(
  name: string,
  traceparent: string | Buffer | undefined,
  options: SpanOptions = {},
): Span {
  return tracer.startSpan(name, options, contextFrom(traceparent));
}

/** A span that records nothing and carries no context: for a message that is not traced. */
const UNTRACED: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/**
 * Starts a span that continues a message's trace: a child of `traceparent` (an entry's
 * `tp`, a job's data). A message without one (or with a malformed one) is not traced, and
 * gets a no-op span; so does one not sampled, under a parent-based sampler, cheaply. What
 * stages and jobs use; within a batch an entry's `tp` is its `process` span's.
 */
export function startChildSpan(
  name: string,
  traceparent: string | Buffer | undefined,
  options: SpanOptions = {},
): Span {
  const parent = parseTraceparent(traceparent);
  if (parent === undefined) return UNTRACED;
  if (!enabled || skipsSpan(traceparent)) return trace.wrapSpanContext(parent);
  return tracer.startSpan(name, options, trace.setSpanContext(ROOT_CONTEXT, parent));
}

/** Runs `fn` with `span` active: spans it starts are children, log lines get its ids. */
export function withSpan<T>(span: Span, fn: () => T): T {
  return context.with(trace.setSpan(context.active(), span), fn);
}

/**
 * Runs `fn` with the context in `traceparent` active, without a span of its own: what `fn`
 * starts from the active context (BullMQ's spans through `bullmq-otel`, say, when it adds
 * a job for an entry) is a child of that context. In a worker process the context lasts
 * until `fn`'s first `await` (see `context.ts`).
 */
export function withTraceparent<T>(traceparent: string | Buffer | undefined, fn: () => T): T {
  return context.with(contextFrom(traceparent), fn);
}

/**
 * Runs `fn` in a span that continues `traceparent` (see {@link startChildSpan}), active
 * while it runs; ends it, with status ERROR and `error.type` when `fn` throws.
 */
export async function inChildSpan<T>(
  name: string,
  traceparent: string | Buffer | undefined,
  options: SpanOptions,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const span = startChildSpan(name, traceparent, options);
  try {
    return await withSpan(span, () => fn(span));
  } catch (error) {
    failSpan(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** Marks a span failed: status ERROR, `error.type` the error's code (or its class). */
export function failSpan(span: Span, error: unknown, type?: string): void {
  if (!span.isRecording()) return;
  const code =
    type ??
    (typeof error === "object" &&
    error !== null &&
    "code" in error &&
    typeof error.code === "string"
      ? error.code
      : error instanceof Error
        ? error.name
        : "Error");
  span.setAttribute(Attr.errorType, code);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
}

/** `trace_id` and `span_id` of a span, for a log line written outside it. */
export function logFieldsOf(span: Span | undefined): { trace_id?: string; span_id?: string } {
  const sc = span?.spanContext();
  return sc !== undefined && isSpanContextValid(sc)
    ? { trace_id: sc.traceId, span_id: sc.spanId }
    : {};
}
