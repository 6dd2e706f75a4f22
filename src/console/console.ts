import type { IncomingMessage, ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";
import type { RequestGuard } from "../api/http-api.js";
import { DeadLetters } from "../dlq/store.js";
import type { StatusSource } from "../health/status.js";
import { cameOverHttps } from "../http/client-address.js";
import { jsonObject, readJson, Refusal, sendFailure, sendJson } from "../http/json-request.js";
import { encodeActivity } from "../protocol/activity.js";
import { AgentNameSchema } from "../protocol/envelope.js";
import { SwitchboardError } from "../protocol/errors.js";
import { ConsoleKeys } from "../redis/console-keys.js";
import type { RedisTarget } from "../redis/target.js";
import type { Switchboard } from "../service/switchboard.js";
import type { Logger } from "../telemetry/log.js";
import { ActivityStreams } from "./events.js";
import { checkOperatorToken, sameSecret } from "./operator-token.js";
import { apiRoutes, type ApiRequest } from "./routes.js";
import { ConsoleSessions, SESSION_TTL_MS, type Session } from "./sessions.js";
import { SECURITY_HEADERS, staticFiles } from "./static.js";
import { ConsoleViews } from "./views.js";

export const CONSOLE_PATH = "/console";
const API_PREFIX = `${CONSOLE_PATH}/api/`;
export const COOKIE = "sb_console";
const CSRF_HEADER = "x-csrf-token";

/** Where the built front end is, by default: `dist/console-web` of the package. */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(
  new URL("../../dist/console-web", import.meta.url),
);

/** Whether a request path is the console's: `/console` and everything under it. */
export const isConsolePath = (path: string): boolean =>
  path === CONSOLE_PATH || path.startsWith(`${CONSOLE_PATH}/`);

export interface ConsoleOptions {
  service: Switchboard;
  /** The serve process's Redis, keys and pipeline (its runtime), and where Redis is, for pub/sub. */
  source: StatusSource & { target: RedisTarget };
  log: Logger;
  /** The built front end; {@link DEFAULT_CONSOLE_DIR} by default. */
  dir?: string | undefined;
  /** A trace UI's URL with `{trace_id}` in it (`serve --trace-url`): messages link to their trace. */
  traceUrl?: string | undefined;
}

export interface ConsoleFrontEnd {
  /** Answers a request under `/console`. */
  serve(req: IncomingMessage, res: ServerResponse, path: string): Promise<void>;
  /** Ends the event streams. */
  close(): void;
}

/** What the HTTP front end adds: its guards, body limit, drain and trusted proxies. */
export interface ConsoleServing {
  guards: readonly RequestGuard[];
  maxBodyBytes: number;
  hold: (res: ServerResponse) => void;
  trustedProxies: ReadonlySet<string>;
}

/**
 * The web console at `/console`: the built front end (static files under a strict CSP),
 * login with the operator token for a session cookie, and the JSON API and event stream
 * under `/console/api/`. Every POST but the login repeats the session's CSRF token in
 * `X-CSRF-Token`; the front end's Origin and Host guards run first, as for `/mcp`.
 */
export function createConsole(options: ConsoleOptions, serving: ConsoleServing): ConsoleFrontEnd {
  const { service, source, log } = options;
  const sessions = new ConsoleSessions(source.redis, source.keys);
  const deadLetters = new DeadLetters(source.redis, source.keys, source.pipeline);
  const channel = new ConsoleKeys(source.keys).activityChannel();
  const streams = new ActivityStreams({
    target: source.target,
    keys: source.keys,
    deadLetters: () => deadLetters.depth(),
  });
  const routes = apiRoutes({
    service,
    source,
    views: new ConsoleViews(service, source, options.traceUrl),
    deadLetters,
    streams,
    deadLettersChanged: async () => {
      await source.redis.publish(channel, encodeActivity([{ kind: "dead_letters" }]));
    },
  });
  const serveStatic = staticFiles(options.dir ?? DEFAULT_CONSOLE_DIR);

  async function login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJson(req, res, serving.maxBodyBytes);
    if (body === undefined) return;
    const fields = jsonObject(body.value, 'send {"token": "sbc_…", "name": "you"}');
    const unknown = Object.keys(fields).find((k) => k !== "token" && k !== "name");
    if (unknown !== undefined) {
      throw new SwitchboardError(
        "INVALID_INPUT",
        `unknown field '${unknown}'; send token and name`,
        {
          field: unknown,
        },
      );
    }
    await checkOperatorToken(source.redis, source.keys, fields.token);
    const name = fields.name ?? "operator";
    if (!AgentNameSchema.safeParse(name).success) {
      throw new SwitchboardError(
        "INVALID_INPUT",
        "name is who you are in the console (your posts are from human:<name>): 1-64 letters, digits, '.', '_' or '-'",
        { field: "name" },
      );
    }
    const session = await sessions.open(name as string);
    const cookie = cookieFor(req, session.id, SESSION_TTL_MS / 1000, serving.trustedProxies);
    res.setHeader("set-cookie", cookie);
    const { operator, csrf, expires_at } = session;
    sendJson(res, 200, JSON.stringify({ operator, csrf, expires_at }));
    log.info("console login", { operator });
  }

  async function logout(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const session = await authorized(req);
    await sessions.close(session.id);
    res.setHeader("set-cookie", cookieFor(req, "", 0, serving.trustedProxies));
    res.writeHead(204, { "cache-control": "no-store" }).end();
  }

  /** The request's session; with a POST, its CSRF token too. */
  async function authorized(req: IncomingMessage): Promise<Session> {
    const session = await sessions.find(cookieOf(req.headers.cookie));
    if (req.method === "POST" && !sameSecret(req.headers[CSRF_HEADER], session.csrf)) {
      throw new SwitchboardError(
        "FORBIDDEN",
        `a console POST repeats the session's CSRF token in ${CSRF_HEADER} (from /console/api/session); reload the console`,
        { field: CSRF_HEADER },
      );
    }
    return session;
  }

  async function api(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const method = req.method ?? "";
    const session = await authorized(req);
    const rest = path.slice(API_PREFIX.length);
    const slash = rest.indexOf("/");
    // `dead-letters/replay` is a route of its own; `dead-letters/1-0` one with an id.
    const [route, id] =
      slash === -1 || hasRoute(routes, rest)
        ? [rest, ""]
        : [`${rest.slice(0, slash)}/{id}`, rest.slice(slash + 1)];
    const handler = id.includes("/") ? undefined : routes.get(`${method} ${route}`);
    if (handler === undefined) {
      const allow = ["GET", "POST"].filter((m) => routes.has(`${m} ${route}`));
      if (allow.length === 0 || id.includes("/")) {
        throw new SwitchboardError("NOT_FOUND", `no console route ${method} ${path}`);
      }
      const error = new SwitchboardError("INVALID_INPUT", `${path} takes ${allow.join(", ")}`);
      throw new Refusal(error, 405, { allow: allow.join(", ") });
    }
    const request: ApiRequest = {
      req,
      res,
      session,
      id: decodeId(id),
      query: new URL(req.url ?? "/", "http://localhost").searchParams,
      body: async () => {
        const body = await readJson(req, res, serving.maxBodyBytes);
        if (body === undefined) throw new Gone();
        return body.value;
      },
    };
    const answer = await handler(request);
    if (answer !== undefined) sendJson(res, answer.status, JSON.stringify(answer.json));
  }

  return {
    async serve(req, res, path) {
      if (!serving.guards.every((guard) => guard(req, res))) return;
      for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
      const method = req.method ?? "";
      if (!path.startsWith(API_PREFIX) && !(method === "POST" && isAuthPath(path))) {
        await serveStatic(req, res, path);
        return;
      }
      if (!path.endsWith("/events")) serving.hold(res);
      try {
        if (path === `${CONSOLE_PATH}/login`) await login(req, res);
        else if (path === `${CONSOLE_PATH}/logout`) await logout(req, res);
        else await api(req, res, path);
      } catch (error) {
        if (error instanceof Gone) return;
        sendFailure(res, error, { path, method, log, headers: challenge });
      }
    },
    close: () => streams.close(),
  };
}

/** A 401 names the console's login, not a bearer token. */
const challenge = (status: number): Record<string, string> =>
  status === 401 ? { "www-authenticate": 'Cookie realm="switchboard-console"' } : {};

/** The client went away while its body was read: nothing to answer. */
class Gone extends Error {}

const hasRoute = (routes: ReadonlyMap<string, unknown>, route: string): boolean =>
  routes.has(`GET ${route}`) || routes.has(`POST ${route}`);

const isAuthPath = (path: string): boolean =>
  path === `${CONSOLE_PATH}/login` || path === `${CONSOLE_PATH}/logout`;

function decodeId(id: string): string {
  try {
    return decodeURIComponent(id);
  } catch {
    throw new SwitchboardError(
      "INVALID_INPUT",
      "the id in the path is not valid percent-encoding",
      {
        field: "id",
      },
    );
  }
}

/** The session id of the `sb_console` cookie, if the request has one. */
export function cookieOf(header: string | undefined): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq !== -1 && part.slice(0, eq).trim() === COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function cookieFor(
  req: IncomingMessage,
  value: string,
  maxAgeSeconds: number,
  trustedProxies: ReadonlySet<string>,
): string {
  const https = cameOverHttps(req.socket, req.headers["x-forwarded-proto"], trustedProxies);
  const secure = https ? "; Secure" : "";
  return `${COOKIE}=${value}; HttpOnly; SameSite=Strict; Path=${CONSOLE_PATH}; Max-Age=${maxAgeSeconds}${secure}`;
}
