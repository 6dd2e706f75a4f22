import { isSpanContextValid, trace } from "@opentelemetry/api";
import { pino, type DestinationStream, type Logger as Pino } from "pino";

/**
 * Structured JSON log lines on stderr (pino): `level`, `time`, `pid`, `hostname`, `msg` and
 * the fields given. A line logged inside an active span carries its `trace_id` and
 * `span_id`; a line about a message carries `message_id`. Never a body.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

const NO_TRACE = Object.freeze({});

/** The active span's ids, merged into every line (an empty object outside spans). */
function traceIds(): object {
  const context = trace.getActiveSpan()?.spanContext();
  return context !== undefined && isSpanContextValid(context)
    ? { trace_id: context.traceId, span_id: context.spanId }
    : NO_TRACE;
}

/**
 * A logger at `level`, with `base` fields on every line, writing JSON lines to stderr (or
 * to `write`, one call per line).
 */
export function createLogger(
  level: LogLevel = "info",
  base: Record<string, unknown> = {},
  write?: (line: string) => void,
): Logger {
  const destination: DestinationStream =
    write === undefined ? pino.destination({ dest: 2, sync: true }) : { write };
  const root = pino(
    {
      level,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin: traceIds,
      // The fields of the call win over the span's ids; nothing to merge outside spans.
      mixinMergeStrategy: (fields, ids) => (ids === NO_TRACE ? fields : { ...ids, ...fields }),
    },
    destination,
  );
  return wrap(root, base);
}

/**
 * The Logger interface over pino. Bindings are merged into each line, not bound with
 * pino's `child` (which would write a key twice when a child or a call sets it again):
 * the call's fields win over the child's, and the child's over its parent's.
 */
function wrap(logger: Pino, bindings: Record<string, unknown>): Logger {
  const fieldsOf = (fields?: Record<string, unknown>) =>
    fields === undefined ? bindings : { ...bindings, ...fields };
  return {
    debug: (message, fields) => logger.debug(fieldsOf(fields), message),
    info: (message, fields) => logger.info(fieldsOf(fields), message),
    warn: (message, fields) => logger.warn(fieldsOf(fields), message),
    error: (message, fields) => logger.error(fieldsOf(fields), message),
    child: (fields) => wrap(logger, { ...bindings, ...fields }),
  };
}

/** A logger that writes nothing, for tests and benchmarks. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
