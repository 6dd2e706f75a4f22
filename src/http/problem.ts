import type { ServerResponse } from "node:http";
import { toErrorInfo, type ErrorCode, type ErrorInfo } from "../protocol/errors.js";

/**
 * Errors over plain HTTP (`/v1` and the console's JSON) as RFC 9457 problem details: the
 * same codes, fields and data as the MCP tools' errors, with an HTTP status per code.
 * `type` names the code (`urn:switchboard:problem:rate_limited`) so a client branches on
 * `code` or `type`, never on the wording of `detail`.
 */
export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/** The HTTP status each error code is answered with. */
export const PROBLEM_STATUS = {
  INVALID_INPUT: 400,
  MALFORMED_ENTRY: 400,
  TOO_LARGE: 413,
  EXPIRED: 410,
  DUPLICATE_IDEMPOTENCY_KEY: 409,
  NAME_TAKEN: 409,
  NOT_FOUND: 404,
  LEASE_EXPIRED: 409,
  VERSION_CONFLICT: 409,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  LOOP_DETECTED: 429,
  INBOX_FULL: 429,
  NO_RECIPIENT: 422,
  WEBHOOK_SERVER_ERROR: 502,
  WEBHOOK_THROTTLED: 502,
  WEBHOOK_TIMEOUT: 504,
  WEBHOOK_UNREACHABLE: 502,
  WEBHOOK_REJECTED: 502,
  WEBHOOK_FORBIDDEN: 403,
  BREAKER_OPEN: 503,
  POISON: 500,
  CONFIG: 500,
  REDIS_UNAVAILABLE: 503,
  NOT_REPLICATED: 503,
  INTERNAL: 500,
} as const satisfies Record<ErrorCode, number>;

/** The title of each status a problem is answered with. */
const TITLES: ReadonlyMap<number, string> = new Map([
  [400, "Bad Request"],
  [401, "Unauthorized"],
  [403, "Forbidden"],
  [404, "Not Found"],
  [405, "Method Not Allowed"],
  [409, "Conflict"],
  [410, "Gone"],
  [413, "Content Too Large"],
  [415, "Unsupported Media Type"],
  [422, "Unprocessable Content"],
  [429, "Too Many Requests"],
  [500, "Internal Server Error"],
  [502, "Bad Gateway"],
  [503, "Service Unavailable"],
  [504, "Gateway Timeout"],
]);

/** An RFC 9457 problem document, with Switchboard's extension members. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  /** The request's path. */
  instance?: string;
  code: ErrorCode;
  /** The offending field, such as `body` or `to.agent`. */
  field?: string;
  /** Facts a program acts on, such as `retry_after_seconds`. */
  data?: ErrorInfo["data"];
}

export const problemType = (code: ErrorCode): string =>
  `urn:switchboard:problem:${code.toLowerCase()}`;

/** The problem document of an error (anything thrown: unknown errors become INTERNAL). */
export function problemOf(error: unknown, instance?: string, status?: number): Problem {
  const info = toErrorInfo(error);
  const answered = status ?? PROBLEM_STATUS[info.code];
  const problem: Problem = {
    type: problemType(info.code),
    title: TITLES.get(answered) ?? "Error",
    status: answered,
    detail:
      info.code === "INTERNAL" ? "internal error; the server's log has the details" : info.message,
    code: info.code,
  };
  if (instance !== undefined) problem.instance = instance;
  if (info.field !== undefined) problem.field = info.field;
  if (info.data !== undefined) problem.data = info.data;
  return problem;
}

/**
 * Answers with a problem document. `Retry-After` (whole seconds, at least 1) goes with a
 * problem whose data says when to try again; 401 names the scheme in `WWW-Authenticate`.
 */
export function sendProblem(
  res: ServerResponse,
  problem: Problem,
  headers: Readonly<Record<string, string>> = {},
): void {
  const extra: Record<string, string> = { ...headers };
  const wait = problem.data?.["retry_after_seconds"];
  if (typeof wait === "number") extra["retry-after"] = String(Math.max(1, Math.ceil(wait)));
  if (problem.status === 401 && extra["www-authenticate"] === undefined) {
    extra["www-authenticate"] = `Bearer realm="switchboard"`;
  }
  res
    .writeHead(problem.status, {
      ...extra,
      "content-type": PROBLEM_CONTENT_TYPE,
      "cache-control": "no-store",
    })
    .end(JSON.stringify(problem));
}
