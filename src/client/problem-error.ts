import type { Problem } from "../http/problem.js";
import { isErrorCode, type ErrorCode, type ErrorInfo } from "../protocol/errors.js";

export type { Problem };

/**
 * A request the HTTP API refused, carrying its RFC 9457 problem: branch on `code` (the
 * same codes as the MCP tools' errors), never on the wording of `message`.
 */
export class SwitchboardApiError extends Error {
  override readonly name = "SwitchboardApiError";
  readonly code: ErrorCode;
  /** The HTTP status. */
  readonly status: number;
  /** The offending field, such as `to` or `message_ids`. */
  readonly field: string | undefined;
  /** Facts to act on, such as `retry_after_seconds`. */
  readonly data: ErrorInfo["data"];
  /** When to try again, in seconds (`Retry-After`), for RATE_LIMITED and its kind. */
  readonly retryAfterSeconds: number | undefined;
  readonly problem: Problem;

  constructor(problem: Problem, retryAfterSeconds?: number) {
    super(`${problem.code}: ${problem.detail}`);
    this.problem = problem;
    this.code = problem.code;
    this.status = problem.status;
    this.field = problem.field;
    this.data = problem.data;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * The error of a refused response. A body that is not a problem document (a proxy's page,
 * a refused Origin) becomes one with code INTERNAL and the start of the body as detail.
 */
export async function apiErrorOf(response: Response): Promise<SwitchboardApiError> {
  const text = await response.text();
  const header = Number(response.headers.get("retry-after") ?? Number.NaN);
  const retryAfter = Number.isFinite(header) ? header : undefined;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const problem = body as Partial<Problem> | undefined;
  if (
    typeof problem?.code === "string" &&
    isErrorCode(problem.code) &&
    typeof problem.detail === "string"
  ) {
    return new SwitchboardApiError({ ...problem, status: response.status } as Problem, retryAfter);
  }
  return new SwitchboardApiError(
    {
      type: "about:blank",
      title: response.statusText,
      status: response.status,
      detail: `HTTP ${response.status}: ${text.slice(0, 200)}`,
      code: "INTERNAL",
    },
    retryAfter,
  );
}
