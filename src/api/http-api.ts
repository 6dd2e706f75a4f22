import type { IncomingMessage, ServerResponse } from "node:http";
import { bearerToken } from "../http/bearer.js";
import { readJson, Refusal, sendFailure, sendJson } from "../http/json-request.js";
import { parseArguments } from "../protocol/arguments.js";
import { traceContextOf } from "../protocol/envelope.js";
import { SwitchboardError } from "../protocol/errors.js";
import { ToolInputs } from "../protocol/tools.js";
import type { Switchboard } from "../service/switchboard.js";
import type { Logger } from "../telemetry/log.js";
import { matchRoute, queryInput, refuseQuery } from "./input.js";
import { openApiDocument } from "./openapi.js";
import type { Route } from "./routes.js";

export const API_PATH = "/v1";
export const OPENAPI_PATH = `${API_PATH}/openapi.json`;

/** Whether a request path is the API's: `/v1` and everything under it. */
export const isApiPath = (path: string): boolean =>
  path === API_PATH || path.startsWith(`${API_PATH}/`);

/** A check the front end makes of every request (Origin, Host): false when it answered a refusal. */
export type RequestGuard = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface HttpApiOptions {
  service: Switchboard;
  log: Logger;
  /** The longest request body in bytes: the pipeline file's `http.maxBodyBytes`. */
  maxBodyBytes: number;
  /** The front end's guards, run before anything else. */
  guards: readonly RequestGuard[];
  /** Counts a request as under way until its answer starts (the front end's drain). */
  hold: (res: ServerResponse) => void;
}

export type HttpApi = (req: IncomingMessage, res: ServerResponse, path: string) => Promise<void>;

const NO_TOKEN =
  "present your agent's token as `Authorization: Bearer sbt_…` " +
  "(POST /v1/agents registers an agent and answers its token)";

/**
 * The HTTP API under `/v1`: the MCP tools' operations as JSON routes (src/api/routes.ts),
 * for callers that do not speak MCP. Each request is one call of the service, as its tool
 * makes it: the caller by `Authorization: Bearer`, the input checked by the tool's schema
 * (unknown fields refused), errors as RFC 9457 problem details with the tools' codes.
 * `GET /v1/openapi.json` describes it, generated from the same schemas.
 */
export function createHttpApi(options: HttpApiOptions): HttpApi {
  const { service, log, guards, hold } = options;
  const document = JSON.stringify(openApiDocument());
  return async function serveApi(req, res, path) {
    if (!guards.every((guard) => guard(req, res))) return;
    hold(res);
    const method = req.method ?? "";
    try {
      if (path === OPENAPI_PATH) {
        if (method !== "GET") throw notAllowed(method, path, ["GET"]);
        sendJson(res, 200, document);
        return;
      }
      const match = matchRoute(method, path);
      if (match.route === undefined) {
        throw match.allow.length === 0
          ? noRoute(method, path)
          : notAllowed(method, path, match.allow);
      }
      const { route, id } = match;
      const query = new URL(req.url ?? "/", "http://localhost").searchParams;
      let args: unknown;
      if (route.from === "body") {
        refuseQuery(query);
        const body = await readJson(req, res, options.maxBodyBytes);
        if (body === undefined) return;
        args = body.value;
      } else {
        const input = queryInput(query, ToolInputs[route.tool]);
        if (route.id !== undefined && id !== undefined) input[route.id] = id;
        args = input;
      }
      const result = await call(route, req, res, args, service);
      sendJson(res, route.status, JSON.stringify(result));
    } catch (error) {
      sendFailure(res, error, { path, method, log, headers: (status) => challenge(req, status) });
    }
  };
}

const noRoute = (method: string, path: string): SwitchboardError =>
  new SwitchboardError(
    "NOT_FOUND",
    `no route ${method} ${path}; the routes are listed in ${OPENAPI_PATH}`,
  );

function notAllowed(method: string, path: string, allow: readonly string[]): Refusal {
  const error = new SwitchboardError(
    "INVALID_INPUT",
    `${path} does not take ${method}; it takes ${allow.join(", ")}`,
  );
  return new Refusal(error, 405, { allow: allow.join(", ") });
}

/** RFC 6750: a 401 for a token that was presented says it is not valid. */
function challenge(req: IncomingMessage, status: number): Record<string, string> {
  if (status !== 401 || bearerToken(req.headers.authorization) === undefined) return {};
  return { "www-authenticate": `Bearer realm="switchboard", error="invalid_token"` };
}

/** Runs a route as its tool runs: the caller checked first, then the input, then the call. */
async function call(
  route: Route,
  req: IncomingMessage,
  res: ServerResponse,
  args: unknown,
  service: Switchboard,
): Promise<object> {
  const token = bearerToken(req.headers.authorization);
  const gone = new AbortController();
  res.once("close", () => gone.abort());
  const common = {
    service,
    trace: traceContextOf(req.headers.traceparent, req.headers.tracestate),
    signal: gone.signal,
  };
  if (route.access === "open") {
    const input = parseArguments(ToolInputs[route.tool], args);
    return route.run({ ...common, input, token });
  }
  if (token === undefined) throw new SwitchboardError("UNAUTHENTICATED", NO_TOKEN);
  const agent = await service.authenticate(token);
  const input = parseArguments(ToolInputs[route.tool], args);
  // The contact is recorded while the route works, as the tools do.
  const [, result] = await Promise.all([
    service.touch(agent),
    route.run({ ...common, input, agent }),
  ]);
  return result;
}
