import type { IncomingMessage, ServerResponse } from "node:http";
import { SwitchboardError } from "../protocol/errors.js";
import type { Logger } from "../telemetry/log.js";
import { problemOf, sendProblem } from "./problem.js";
import { readBody } from "./body.js";
import { isJsonMediaType, parseJsonBody } from "./json-body.js";

/**
 * JSON requests and answers of the plain-HTTP front ends (`/v1`, the console's API): the
 * body read within a limit and parsed, the answer written, refusals with a status of
 * their own.
 */

/** A refusal answered with another status than its code's, and headers of its own. */
export class Refusal extends Error {
  constructor(
    override readonly cause: SwitchboardError,
    readonly status: number,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(cause.message);
  }
}

/**
 * The JSON body of a request: 415 unless it says `application/json`, 413 over
 * `maxBytes` (the connection is then closed), 400 for an empty body or one that is not
 * UTF-8 JSON. Undefined when the client went away (or took too long): nothing to answer.
 */
export async function readJson(
  req: IncomingMessage,
  res: ServerResponse,
  maxBytes: number,
): Promise<{ value: unknown } | undefined> {
  if (!isJsonMediaType(req.headers["content-type"])) {
    const error = new SwitchboardError(
      "INVALID_INPUT",
      "the body must be JSON, sent with `Content-Type: application/json`",
      { field: "content-type" },
    );
    throw new Refusal(error, 415);
  }
  const read = await readBody(req, maxBytes).catch(() => undefined);
  if (read === undefined) {
    res.destroy();
    return undefined;
  }
  if (read.tooLarge) {
    const error = new SwitchboardError(
      "TOO_LARGE",
      `the request body is over the limit of ${maxBytes} bytes (http.maxBodyBytes in the pipeline file); send less`,
      { data: { limit_bytes: maxBytes } },
    );
    throw new Refusal(error, 413, { connection: "close" });
  }
  const body = parseJsonBody(read.bytes);
  if (!body.ok) throw new SwitchboardError("INVALID_INPUT", `${body.reason}; send a JSON object`);
  return { value: body.value };
}

/**
 * A parsed body that must be a JSON object, copied into a null-prototype object (its field
 * names come from outside); `refusal` says what to send instead.
 */
export function jsonObject(value: unknown, refusal: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new SwitchboardError("INVALID_INPUT", refusal);
  }
  return Object.assign(Object.create(null) as Record<string, unknown>, value);
}

/** Answers JSON that is already serialized, never cached. */
export function sendJson(res: ServerResponse, status: number, json: string): void {
  res
    .writeHead(status, { "content-type": "application/json", "cache-control": "no-store" })
    .end(json);
}

/**
 * Answers what a request failed with as a problem document (a {@link Refusal} with its
 * status and headers); an unexpected error is logged, and answered as INTERNAL.
 */
export function sendFailure(
  res: ServerResponse,
  error: unknown,
  request: {
    path: string;
    method: string;
    log: Logger;
    /** Headers by the answer's status, such as a 401's challenge. */
    headers?: (status: number) => Record<string, string>;
  },
): void {
  const refusal = error instanceof Refusal ? error : undefined;
  const problem = problemOf(refusal?.cause ?? error, request.path, refusal?.status);
  if (problem.code === "INTERNAL") {
    request.log.error("http request failed", {
      method: request.method,
      path: request.path,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
  }
  sendProblem(res, problem, { ...refusal?.headers, ...request.headers?.(problem.status) });
}
