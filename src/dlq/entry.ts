import { Field, ORIGINAL_PREFIX, text, type StreamEntry } from "../streams/entry.js";
import {
  categoryOf,
  ERROR_CATEGORIES,
  type ErrorCategory,
  type ErrorInfo,
} from "../protocol/errors.js";
import { streamIdTime } from "../redis/stream-ids.js";

/**
 * Dead letters as read back: a {@link DeadLetterSummary} for lists and filters, decoded
 * from an entry of the dead-letter stream. Entries written before the richer format (or
 * malformed ones) lack fields; every field but `id` and `stage` may then be absent.
 */

/** One dead letter, as lists show it. Times are ISO 8601. */
export interface DeadLetterSummary {
  /**
   * The dead-letter id: what `replay` and `purge` take. The entry id in its partition's
   * dead-letter stream, after `p<partition>:` when there are several partitions.
   */
  id: string;
  /** When it was dead-lettered (the entry id's time). */
  at: string;
  message_id?: string | undefined;
  /** The stage it gave up in: validate, route, deliver or persist. */
  stage: string;
  code: string;
  category: ErrorCategory;
  /** The last error's message. */
  error: string;
  /** The recipient it concerns, if one. */
  recipient?: string | undefined;
  from?: string | undefined;
  /** Attempts or deliveries made. */
  attempts: number;
  first_failure_at?: string | undefined;
  last_failure_at?: string | undefined;
  trace_id?: string | undefined;
  /** The id of the stage entry it was. */
  source_id?: string | undefined;
}

/** One failed attempt, from the dead letter's history. */
export interface FailedAttempt {
  at: string;
  code: string;
  message: string;
}

/** What selects dead letters; every part given must match. */
export interface DeadLetterFilter {
  /** The sender or the recipient. */
  agent?: string | undefined;
  stage?: string | undefined;
  code?: string | undefined;
  category?: ErrorCategory | undefined;
  /** Dead-lettered at least this long ago. */
  olderThanMs?: number | undefined;
  /** Dead-lettered at most this long ago. */
  newerThanMs?: number | undefined;
}

/** Whether the filter selects by time at most, so every entry read matches. */
export function byTimeOnly(f: DeadLetterFilter): boolean {
  return (
    f.agent === undefined &&
    f.stage === undefined &&
    f.code === undefined &&
    f.category === undefined
  );
}

const NO_REASON: ErrorInfo = { code: "INTERNAL", message: "no reason recorded" };

/** A field of the dead letter, else of the original entry it keeps. */
function either(entry: StreamEntry, name: typeof Field.recipient | typeof Field.from) {
  return text(entry, name) ?? entry.fields.get(ORIGINAL_PREFIX + name)?.toString("utf8");
}

function isoOf(ms: string | undefined): string | undefined {
  const n = Number(ms);
  return ms === undefined || !Number.isFinite(n) || n <= 0 ? undefined : new Date(n).toISOString();
}

function parseJson(raw: string | undefined): unknown {
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

/** The last error (`why`); a placeholder when it is missing or not an error. */
export function errorOf(entry: StreamEntry): ErrorInfo {
  const why = parseJson(text(entry, Field.error)) as Partial<ErrorInfo> | undefined;
  return typeof why?.code === "string" && typeof why.message === "string"
    ? (why as ErrorInfo)
    : NO_REASON;
}

/** The failed attempts (`hist`); none when absent or malformed. */
export function attemptsOf(entry: StreamEntry): FailedAttempt[] {
  const hist = parseJson(text(entry, Field.attempts));
  return Array.isArray(hist)
    ? hist.filter(
        (a): a is FailedAttempt =>
          typeof (a as FailedAttempt | null)?.at === "string" &&
          typeof (a as FailedAttempt).code === "string",
      )
    : [];
}

export function summarize(entry: StreamEntry): DeadLetterSummary {
  const why = errorOf(entry);
  const code = text(entry, Field.code) ?? why.code;
  const cat = text(entry, Field.category);
  const deliveries = Number(text(entry, Field.deliveries));
  return {
    id: entry.id,
    at: new Date(streamIdTime(entry.id)).toISOString(),
    message_id: text(entry, Field.messageId),
    stage: text(entry, Field.stage) ?? "unknown",
    code,
    category: (ERROR_CATEGORIES as readonly string[]).includes(cat ?? "")
      ? (cat as ErrorCategory)
      : categoryOf(code),
    error: why.message,
    recipient: either(entry, Field.recipient),
    from: either(entry, Field.from),
    attempts: Number.isSafeInteger(deliveries) ? deliveries : attemptsOf(entry).length,
    first_failure_at: isoOf(text(entry, Field.firstFailure)),
    last_failure_at: isoOf(text(entry, Field.lastFailure)),
    trace_id: text(entry, Field.traceId),
    source_id: text(entry, Field.sourceId),
  };
}

/** Whether a dead letter matches the filter's agent, stage, code and category (not its ages). */
export function matches(s: DeadLetterSummary, filter: DeadLetterFilter): boolean {
  return (
    (filter.stage === undefined || s.stage === filter.stage) &&
    (filter.code === undefined || s.code === filter.code) &&
    (filter.category === undefined || s.category === filter.category) &&
    (filter.agent === undefined || s.recipient === filter.agent || s.from === filter.agent)
  );
}

/** The original stage entry's fields, as text; an envelope shows as its size. */
export function originalOf(entry: StreamEntry): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  for (const [name, value] of entry.fields) {
    if (!name.startsWith(ORIGINAL_PREFIX)) continue;
    const field = name.slice(ORIGINAL_PREFIX.length);
    out[field] = field === Field.envelope ? `(${value.length} bytes)` : value.toString("utf8");
  }
  return out;
}
