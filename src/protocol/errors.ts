/**
 * Errors that cross process boundaries (through Redis entries, BullMQ jobs, MCP results)
 * are branched on by their stable string `code`, never by `instanceof`.
 */
export const ERROR_CODES = {
  /** Input did not match a schema: a tool argument, an envelope, a config file. */
  INVALID_INPUT: { retryable: false },
  /** A stream entry could not be decoded (bad encoding, bad JSON, unknown version). */
  MALFORMED_ENTRY: { retryable: false },
  /** A body or entry is larger than the configured limit, before or after decompression. */
  TOO_LARGE: { retryable: false },
  /** The message's `expires_at` passed before it could be delivered. */
  EXPIRED: { retryable: false },
  /** The sender reused an idempotency key for a different message. */
  DUPLICATE_IDEMPOTENCY_KEY: { retryable: false },
  /** An agent name that is registered already, by another token. */
  NAME_TAKEN: { retryable: false },
  /** A named agent, message or thread that does not exist (or is not yours to see). */
  NOT_FOUND: { retryable: false },
  /** The caller is not an agent yet, or presented an unknown token. */
  UNAUTHENTICATED: { retryable: false },
  /** The inbox of a recipient holds its quota of unacknowledged messages. */
  INBOX_FULL: { retryable: true },
  /** No agent matched the message's target. */
  NO_RECIPIENT: { retryable: false },
  /** An entry was handed out more than `maxDeliveries` times without being acknowledged. */
  POISON: { retryable: false },
  /** A configuration or pipeline file is wrong. */
  CONFIG: { retryable: false },
  /** Redis could not be found, started or reached. */
  REDIS_UNAVAILABLE: { retryable: true },
  /** Anything the code did not foresee; a bug to report. */
  INTERNAL: { retryable: true },
} as const satisfies Record<string, { retryable: boolean }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The plain-data form of an error, as stored in stream entries and message records. */
export interface ErrorInfo {
  code: ErrorCode;
  message: string;
  /** The path of the offending field, such as `body` or `stages.route.batchSize`. */
  field?: string;
}

export class SwitchboardError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly field: string | undefined;

  constructor(code: ErrorCode, message: string, options?: { field?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SwitchboardError";
    this.code = code;
    this.retryable = ERROR_CODES[code].retryable;
    this.field = options?.field;
  }

  toInfo(): ErrorInfo {
    return this.field === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, field: this.field };
  }
}

/** Turns anything thrown into an {@link ErrorInfo}; unknown errors become `INTERNAL`. */
export function toErrorInfo(error: unknown): ErrorInfo {
  if (error instanceof SwitchboardError) return error.toInfo();
  const message = error instanceof Error ? error.message : String(error);
  return { code: "INTERNAL", message };
}
