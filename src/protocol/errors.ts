import { hintFor, type HintKey, type Surface } from "./hints.js";

/**
 * Errors that cross process boundaries (through Redis entries, BullMQ jobs, MCP results)
 * are branched on by their stable string `code`, never by `instanceof`. Each code has a
 * category, which the pipeline's policy table (`errors.strategies`) maps to what happens
 * to the message (retry, dead-letter, drop and tell the sender), a severity for logs and
 * alerts, and whether trying again could ever succeed.
 */
export const ERROR_CATEGORIES = [
  "validation",
  "routing",
  "delivery",
  "quota",
  "auth",
  "transient",
  "internal",
] as const;
export type ErrorCategory = (typeof ERROR_CATEGORIES)[number];

export const ERROR_SEVERITIES = ["info", "warning", "error", "critical"] as const;
export type ErrorSeverity = (typeof ERROR_SEVERITIES)[number];

interface CodeSpec {
  category: ErrorCategory;
  severity: ErrorSeverity;
  /** False: trying again cannot succeed, whatever the category's strategy says. */
  retryable: boolean;
}

const spec = (category: ErrorCategory, severity: ErrorSeverity, retryable: boolean): CodeSpec => ({
  category,
  severity,
  retryable,
});

export const ERROR_CODES = {
  /** Input did not match a schema: a tool argument, an envelope, a config file. */
  INVALID_INPUT: spec("validation", "info", false),
  /** A stream entry could not be decoded (bad encoding, bad JSON, unknown version). */
  MALFORMED_ENTRY: spec("validation", "error", false),
  /** A body or entry is larger than the configured limit, before or after decompression. */
  TOO_LARGE: spec("validation", "info", false),
  /** The message's `expires_at` passed before it could be delivered. */
  EXPIRED: spec("validation", "warning", false),
  /** The sender reused an idempotency key for a different message. */
  DUPLICATE_IDEMPOTENCY_KEY: spec("validation", "info", false),
  /** An agent name that is registered already, by another token. */
  NAME_TAKEN: spec("validation", "info", false),
  /** A named agent, message, thread or dead letter that does not exist (or is not yours to see). */
  NOT_FOUND: spec("validation", "info", false),
  /**
   * A resource lease ran out (or was broken) before its holder renewed or released it: its
   * fencing token is stale, and the message names who holds the resources now.
   */
  LEASE_EXPIRED: spec("validation", "info", false),
  /**
   * A compare-and-set write (put_note's `expected_version`) found a newer version: read it,
   * merge, write again. Its data names the current version and its author.
   */
  VERSION_CONFLICT: spec("validation", "info", false),
  /** The caller is not an agent yet, or presented an unknown token. */
  UNAUTHENTICATED: spec("auth", "info", false),
  /** The caller is an agent, but not one allowed to do this (admin tools). */
  FORBIDDEN: spec("auth", "warning", false),
  /** A sender sends faster than `limits.sendRate`: it waits `retry_after_seconds`, then sends. */
  RATE_LIMITED: spec("quota", "info", true),
  /**
   * A loop or storm breaker (`loops`) is tripped: two agents, a thread, or a thread's
   * broadcasts went over their budget. Refused until `resets_at`, or until lifted.
   */
  LOOP_DETECTED: spec("quota", "warning", true),
  /** The inbox of a recipient holds its quota of unacknowledged messages. */
  INBOX_FULL: spec("quota", "warning", true),
  /** No agent matched the message's target. */
  NO_RECIPIENT: spec("routing", "warning", false),
  /** A webhook answered 5xx. */
  WEBHOOK_SERVER_ERROR: spec("delivery", "warning", true),
  /** A webhook answered 408 or 429: try again later (after its `Retry-After`, if any). */
  WEBHOOK_THROTTLED: spec("delivery", "warning", true),
  /** A webhook did not answer within `webhooks.timeoutMs`. */
  WEBHOOK_TIMEOUT: spec("delivery", "warning", true),
  /** A webhook could not be reached: DNS, connection refused or reset, TLS. */
  WEBHOOK_UNREACHABLE: spec("delivery", "warning", true),
  /** A webhook refused the message with a 4xx other than 408/429: sending it again cannot help. */
  WEBHOOK_REJECTED: spec("delivery", "error", false),
  /** A webhook's address is in a range the configuration forbids (`webhooks.allowPrivateNetworks`). */
  WEBHOOK_FORBIDDEN: spec("delivery", "error", false),
  /** A webhook endpoint's circuit breaker is open: the message waits for the cool-down. */
  BREAKER_OPEN: spec("delivery", "info", true),
  /** An entry was handed out more than `maxDeliveries` times without being acknowledged. */
  POISON: spec("internal", "error", false),
  /** A configuration or pipeline file is wrong. */
  CONFIG: spec("internal", "critical", false),
  /** Redis could not be found, started or reached, or refused a command for a while. */
  REDIS_UNAVAILABLE: spec("transient", "error", true),
  /**
   * `durability: replicated`: fewer replicas than required confirmed a write in time. The
   * master has it, so what it wrote may still take effect; it could be lost on a failover.
   */
  NOT_REPLICATED: spec("transient", "error", true),
  /** Anything the code did not foresee; a bug to report. */
  INTERNAL: spec("internal", "critical", true),
} as const satisfies Record<string, CodeSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(ERROR_CODES, code);

/** The category of a code; an unknown code (from a newer version) counts as internal. */
export const categoryOf = (code: string): ErrorCategory =>
  isErrorCode(code) ? ERROR_CODES[code].category : "internal";

export const severityOf = (code: string): ErrorSeverity =>
  isErrorCode(code) ? ERROR_CODES[code].severity : "error";

export const isRetryable = (code: string): boolean =>
  isErrorCode(code) && ERROR_CODES[code].retryable;

/** The plain-data form of an error, as stored in stream entries and message records. */
export interface ErrorInfo {
  code: ErrorCode;
  message: string;
  /** The path of the offending field, such as `body` or `stages.route.batchSize`. */
  field?: string;
  /** Facts a program acts on, such as `retry_after_seconds` of RATE_LIMITED. */
  data?: ErrorData;
}

export interface SwitchboardErrorOptions {
  field?: string;
  cause?: unknown;
  /** What to do next, worded by each surface: `message` ends with its MCP wording. */
  hint?: HintKey;
  /** Facts a program acts on. */
  data?: ErrorData;
}

/** Structured facts of an error, for programs: `{ retry_after_seconds: 0.25 }`. */
export type ErrorData = Readonly<Record<string, string | number | boolean>>;

export class SwitchboardError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly field: string | undefined;
  readonly data: ErrorData | undefined;
  readonly hint: HintKey | undefined;
  /** The message without its hint. */
  readonly detail: string;

  constructor(code: ErrorCode, message: string, options?: SwitchboardErrorOptions) {
    const hint = options?.hint;
    super(
      hint === undefined ? message : `${message}; ${hintFor(hint, "mcp")}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "SwitchboardError";
    this.code = code;
    this.retryable = ERROR_CODES[code].retryable;
    this.field = options?.field;
    this.data = options?.data;
    this.hint = hint;
    this.detail = message;
  }

  /** The message as a surface words it: its hint in that surface's commands and options. */
  messageFor(surface: Surface): string {
    return this.hint === undefined
      ? this.message
      : `${this.detail}; ${hintFor(this.hint, surface)}`;
  }

  toInfo(): ErrorInfo {
    const info: ErrorInfo = { code: this.code, message: this.message };
    if (this.field !== undefined) info.field = this.field;
    if (this.data !== undefined) info.data = this.data;
    return info;
  }
}

/**
 * Errors of the Redis client that mean "not now" rather than "never". `UNBLOCKED`: a
 * blocking read whose stream was deleted under it, as MIGRATE does when a Redis Cluster
 * moves the stream's slot to another master; the next read follows it there.
 */
const REDIS_TRANSIENT =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Connection is closed|Stream isn't writeable|MaxRetriesPerRequest|LOADING|READONLY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|BUSY |UNBLOCKED/;

/**
 * Turns anything thrown into an {@link ErrorInfo}: Redis connection trouble becomes
 * `REDIS_UNAVAILABLE` (transient), anything else unknown `INTERNAL`.
 */
export function toErrorInfo(error: unknown): ErrorInfo {
  if (error instanceof SwitchboardError) return error.toInfo();
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  if (REDIS_TRANSIENT.test(message) || (typeof code === "string" && REDIS_TRANSIENT.test(code))) {
    return { code: "REDIS_UNAVAILABLE", message };
  }
  return { code: "INTERNAL", message };
}
