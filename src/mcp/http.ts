import type { IncomingMessage, ServerResponse } from "node:http";
import { hostHeaderValidation, originValidation, toNodeHandler } from "@modelcontextprotocol/node";
import {
  createMcpHandler,
  isLegacyRequest,
  localhostAllowedHostnames,
  localhostAllowedOrigins,
} from "@modelcontextprotocol/server";
import { createHttpApi, isApiPath } from "../api/http-api.js";
import type { HttpLimits } from "../config/pipeline.js";
import { createConsole, isConsolePath, type ConsoleOptions } from "../console/console.js";
import type { ProbeHandler } from "../health/probes.js";
import { clientAddress } from "../http/client-address.js";
import { createSafeServer, listen } from "../http/safe-server.js";
import { SwitchboardError } from "../protocol/errors.js";
import type { Switchboard } from "../service/switchboard.js";
import type { Logger } from "../telemetry/log.js";
import { readMcpInput } from "./http-input.js";
import { authInfoOf, Identity } from "./identity.js";
import { Drain } from "./drain.js";
import { buildMcpServer } from "./server.js";
import { LegacySessions } from "./sessions.js";
import { listenForInboxUpdates } from "./updates.js";

export const MCP_PATH = "/mcp";
export const HEALTH_PATH = "/healthz";

export interface HttpOptions {
  service: Switchboard;
  log: Logger;
  host: string;
  port: number;
  /** Origins allowed besides localhost: hostnames (`app.example.com`) or origins (`https://…`). */
  allowedOrigins?: readonly string[];
  /** Body, connection and session bounds: the pipeline file's `http` block. */
  limits: HttpLimits;
  /** `/metrics`, `/healthz` and `/readyz` (src/health); without it, `/healthz` alone. */
  probes?: ProbeHandler;
  /** The web console at `/console` (src/console); without it, `/console` is 404 (`--no-console`). */
  console?: Omit<ConsoleOptions, "service" | "log">;
}

/**
 * How long `close()` lets requests under way finish, by default.
 * @defaultValue 5000 ms
 */
export const DEFAULT_DRAIN_MS = 5000;

export interface HttpFrontEnd {
  /** Where MCP is served, e.g. `http://127.0.0.1:8787/mcp`. */
  url: string;
  /** Where the web console is, e.g. `http://127.0.0.1:8787/console/`; undefined when off. */
  consoleUrl: string | undefined;
  /**
   * Drains, then closes: new requests get 503 (`/readyz` too), long polls and awaited
   * replies return what they have, requests under way may finish for up to `drainMs`
   * (default {@link DEFAULT_DRAIN_MS}); then every connection is closed.
   */
  close(drainMs?: number): Promise<void>;
}

type Guard = (req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * Streamable HTTP at `/mcp`, both eras: 2026-07-28 requests statelessly (a server per
 * request, the caller by `Authorization: Bearer`), 2025-11-25 clients in sessions of this
 * process. Foreign `Origin`s get 403; on a loopback address so do foreign `Host`s (DNS
 * rebinding). A POST's body is read and parsed once, within `limits.maxBodyBytes`, and
 * handed on parsed. New mail for an agent becomes `resources/updated` for its inbox URI.
 */
export async function startHttpFrontEnd(options: HttpOptions): Promise<HttpFrontEnd> {
  const { service, log, limits } = options;
  const onerror = (error: Error): void => log.debug("mcp request error", { error: error.message });
  const maxRequestBodySize = limits.maxBodyBytes;
  const modern = createMcpHandler(
    () => buildMcpServer(service, new Identity(service, { remembers: false }), { log }),
    { legacy: "reject", onerror, maxRequestBodySize },
  );
  const tokens = new Identity(service, { remembers: false });
  const sessions = new LegacySessions({
    build: (subscriptions) => {
      const identity = new Identity(service, { remembers: true });
      return { identity, server: buildMcpServer(service, identity, { log, subscriptions }) };
    },
    agentOf: (token) => tokens.agentOf(token),
    limits: limits.sessions,
    log,
  });
  const stopUpdates = listenForInboxUpdates(service, (_agent, uri) => {
    modern.notify.resourceUpdated(uri);
    sessions.notify(uri);
  });
  const trustedProxies: ReadonlySet<string> = new Set(limits.trustedProxies);
  const guards = requestGuards(options);
  const drain = new Drain();
  const api = createHttpApi({
    service,
    log,
    guards,
    maxBodyBytes: limits.maxBodyBytes,
    hold: (res) => drain.hold(res),
  });
  const web =
    options.console === undefined
      ? undefined
      : createConsole(
          { ...options.console, service, log },
          {
            guards,
            maxBodyBytes: limits.maxBodyBytes,
            trustedProxies,
            hold: (res) => drain.hold(res),
          },
        );
  async function serveMcp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!guards.every((guard) => guard(req, res))) return;
    const input = await readMcpInput(req, res, limits.maxBodyBytes);
    if (input === undefined) return;
    const { parsed: parsedBody } = input;
    const address = clientAddress(
      req.socket.remoteAddress,
      req.headers["x-forwarded-for"],
      trustedProxies,
    );
    const route = async (request: Request): Promise<Response> => {
      const authInfo = authInfoOf(request);
      // With the parsed body in hand, the predicate reads (and clones) nothing.
      return (await isLegacyRequest(request, parsedBody))
        ? sessions.fetch(request, { authInfo, parsedBody, address })
        : modern.fetch(request, { authInfo, parsedBody });
    };
    await toNodeHandler({ fetch: route }, { onerror, maxRequestBodySize })(req, res, parsedBody);
  }
  const server = createSafeServer(
    function answer(req, res, path) {
      if (drain.refuses(req, res, path, MCP_PATH)) return undefined;
      if (options.probes?.(req, res, path) === true) return undefined;
      if (path === MCP_PATH) return serveMcp(req, res);
      if (isApiPath(path)) return api(req, res, path);
      if (web !== undefined && isConsolePath(path)) return web.serve(req, res, path);
      if (path === HEALTH_PATH) {
        res.writeHead(200, { "content-type": "text/plain" }).end("ok");
      } else {
        res
          .writeHead(404, { "content-type": "text/plain" })
          .end(`not found; MCP is at ${MCP_PATH}`);
      }
      return undefined;
    },
    { limits, log },
  );
  const origin = await listen(server, options.port, options.host);
  return {
    url: `${origin}${MCP_PATH}`,
    consoleUrl: web === undefined ? undefined : `${origin}/console/`,
    close: async (drainMs = DEFAULT_DRAIN_MS) => {
      drain.begin();
      service.stopWaiting();
      web?.close();
      if (!(await drain.settled(drainMs))) {
        log.warn("requests still under way after the drain; closing their connections", {
          drainMs,
        });
      }
      stopUpdates();
      await modern.close();
      await sessions.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Origin always (localhost and the allowed ones); Host when bound to loopback. */
function requestGuards(options: HttpOptions): Guard[] {
  const origins = [
    ...localhostAllowedOrigins(),
    ...(options.allowedOrigins ?? []).map(originHostname),
  ];
  const guards = [originValidation(origins)];
  if (isLoopback(options.host)) guards.unshift(hostHeaderValidation(localhostAllowedHostnames()));
  return guards;
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** `https://app.example.com:8443` → `app.example.com`; hostnames and `scheme://*` pass. */
function originHostname(origin: string): string {
  if (!origin.includes("://") || origin.endsWith("://*")) return origin;
  try {
    return new URL(origin).hostname;
  } catch {
    throw new SwitchboardError(
      "CONFIG",
      `'${origin}' is not an origin; give hostnames such as app.example.com or origins such as https://app.example.com`,
      { field: "--allowed-origins" },
    );
  }
}
