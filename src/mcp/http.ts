import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { hostHeaderValidation, originValidation, toNodeHandler } from "@modelcontextprotocol/node";
import {
  createMcpHandler,
  isLegacyRequest,
  localhostAllowedHostnames,
  localhostAllowedOrigins,
} from "@modelcontextprotocol/server";
import type { ProbeHandler } from "../health/probes.js";
import { listen } from "../health/server.js";
import { SwitchboardError } from "../protocol/errors.js";
import type { Switchboard } from "../service/switchboard.js";
import type { Logger } from "../telemetry/log.js";
import { observeHttp } from "../telemetry/record.js";
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
  /** A 2025-11-25 session not heard from for this long is closed (default 30 min). */
  sessionIdleMs?: number;
  maxSessions?: number;
  /** `/metrics`, `/healthz` and `/readyz` (src/health); without it, `/healthz` alone. */
  probes?: ProbeHandler;
}

/**
 * How long `close()` lets requests under way finish, by default.
 * @defaultValue 5000 ms
 */
export const DEFAULT_DRAIN_MS = 5000;

export interface HttpFrontEnd {
  /** Where MCP is served, e.g. `http://127.0.0.1:8787/mcp`. */
  url: string;
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
 * rebinding). New mail for an agent becomes `resources/updated` for its inbox URI.
 */
export async function startHttpFrontEnd(options: HttpOptions): Promise<HttpFrontEnd> {
  const { service, log } = options;
  const onerror = (error: Error): void => log.debug("mcp request error", { error: error.message });
  const modern = createMcpHandler(
    () => buildMcpServer(service, new Identity(service, { remembers: false }), { log }),
    { legacy: "reject", onerror },
  );
  const sessions = new LegacySessions({
    build: (subscriptions) =>
      buildMcpServer(service, new Identity(service, { remembers: true }), { log, subscriptions }),
    idleMs: options.sessionIdleMs ?? 30 * 60_000,
    maxSessions: options.maxSessions ?? 10_000,
    log,
  });
  const stopUpdates = listenForInboxUpdates(service.mail, (_agent, uri) => {
    modern.notify.resourceUpdated(uri);
    sessions.notify(uri);
  });
  const mcp = toNodeHandler(
    {
      fetch: async (request) => {
        const authInfo = authInfoOf(request);
        // Parsed once here, and handed on, rather than cloned and parsed at every step.
        const parsedBody: unknown =
          request.method === "POST" ? await request.json().catch(() => undefined) : undefined;
        return (await isLegacyRequest(request, parsedBody))
          ? sessions.fetch(request, authInfo, parsedBody)
          : modern.fetch(request, { authInfo, parsedBody });
      },
    },
    { onerror },
  );
  const guards = requestGuards(options);
  const drain = new Drain();
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    observeHttp(req, res, path);
    if (drain.refuses(req, res, path, MCP_PATH)) return;
    if (options.probes?.(req, res, path) === true) return;
    if (path === HEALTH_PATH) {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    } else if (path !== MCP_PATH) {
      res.writeHead(404, { "content-type": "text/plain" }).end(`not found; MCP is at ${MCP_PATH}`);
    } else if (guards.every((guard) => guard(req, res))) {
      void mcp(req, res);
    }
  });
  const url = `${await listen(server, options.port, options.host)}${MCP_PATH}`;
  return {
    url,
    close: async (drainMs = DEFAULT_DRAIN_MS) => {
      drain.begin();
      service.stopWaiting();
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
