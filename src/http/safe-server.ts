import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { toErrorInfo } from "../protocol/errors.js";
import type { Logger } from "../telemetry/log.js";
import { observeHttp } from "../telemetry/record.js";

/**
 * How many connections an HTTP server holds and how long a client may take: the pipeline
 * file's `http` block (docs/operations.md, "Limits").
 */
export interface ConnectionLimits {
  /** Connections beyond this many are closed as they arrive (`server.maxConnections`). */
  maxConnections: number;
  /** A request whose headers have not all arrived by then is answered 408 and cut. */
  headersTimeoutMs: number;
  /** … and one whose body has not all arrived by then. */
  requestTimeoutMs: number;
  /** An idle kept-alive connection is closed after this long. */
  keepAliveTimeoutMs: number;
}

/** Answers one request; `path` is its target's path, already known to be a valid URL. */
export type Route = (
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
) => void | Promise<void>;

export interface SafeServerOptions {
  limits: ConnectionLimits;
  log: Logger;
}

/**
 * A `node:http` server no client can bring down: a target that is not a URL gets 400,
 * malformed HTTP gets 400 (431, 408) and a closed socket, and an exception out of `route`,
 * thrown or rejected, is logged and answered 500 (or the response cut, if it had begun).
 * Held-open connections are cut by the timeouts of {@link ConnectionLimits}.
 */
export function createSafeServer(route: Route, options: SafeServerOptions): Server {
  const { limits, log } = options;
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Node checks the two timeouts only this often (30 s by default).
      connectionsCheckingInterval: checkingInterval(limits),
    },
    function answer(req, res) {
      const path = pathOf(req.url);
      observeHttp(req, res, path ?? "other");
      if (path === undefined) {
        res.writeHead(400, { "content-type": "text/plain" }).end("bad request target: not a URL");
        return;
      }
      const fail = (error: unknown): void => failed(req, res, path, error, log);
      try {
        route(req, res, path)?.catch(fail);
      } catch (error) {
        fail(error);
      }
    },
  );
  server.maxConnections = limits.maxConnections;
  server.on("clientError", function refuseMalformed(error: NodeJS.ErrnoException, socket) {
    log.debug("malformed http request", { code: error.code, error: error.message });
    answerSocket(socket, error.code);
  });
  return server;
}

/** `/mcp?x` → `/mcp`; undefined for a target no URL can be made of, such as `//[`. */
export function pathOf(target: string | undefined): string | undefined {
  try {
    return new URL(target ?? "/", "http://localhost").pathname;
  } catch {
    return undefined;
  }
}

/** A quarter of the shorter timeout, within 50 ms and Node's default of 30 s. */
function checkingInterval(limits: ConnectionLimits): number {
  const shorter = Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs);
  return Math.min(30_000, Math.max(50, Math.floor(shorter / 4)));
}

function failed(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  error: unknown,
  log: Logger,
): void {
  log.error("http request failed", { method: req.method, path, error: toErrorInfo(error) });
  try {
    if (res.headersSent) {
      res.destroy();
    } else {
      res.writeHead(500, { "content-type": "text/plain", connection: "close" });
      res.end("internal error");
    }
  } catch {
    res.destroy();
  }
}

const STATUS_LINES: Readonly<Record<string, string>> = {
  HPE_HEADER_OVERFLOW: "431 Request Header Fields Too Large",
  ERR_HTTP_REQUEST_TIMEOUT: "408 Request Timeout",
};

/**
 * What Node does by default, kept now that there is a listener: a status line if no
 * response has begun on the socket, then the socket destroyed (a timed-out one included).
 */
function answerSocket(socket: Duplex, code: string | undefined): void {
  // Node's own check: the response in flight on this socket, if any.
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (code !== "ECONNRESET" && socket.writable && inFlight?.headersSent !== true) {
    const status = STATUS_LINES[code ?? ""] ?? "400 Bad Request";
    socket.write(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  }
  socket.destroy();
}

/** Listens on `host:port` (0: any free port); resolves to `http://host:port` once it does. */
export async function listen(server: Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { address, port: bound } = server.address() as AddressInfo;
  return `http://${address.includes(":") ? `[${address}]` : address}:${bound}`;
}
