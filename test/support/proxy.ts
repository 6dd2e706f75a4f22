import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A tiny HTTP load balancer in front of several `serve` processes, for tests: each request
 * goes to the next backend in turn (round robin), its response (event streams included)
 * is piped back as it comes. With `sticky`, it learns the `Mcp-Session-Id` a backend
 * answers with and sends every later request carrying that header to the same backend,
 * as HAProxy's `stick store-response` / `stick match` do.
 */
export interface FrontEndProxy {
  /** The proxy's MCP endpoint: the same path as the backends'. */
  url: URL;
  /** Requests forwarded to each backend, by the backend's index. */
  readonly hits: number[];
  /** The backend index of each session the proxy has seen opened. */
  readonly sessions: ReadonlyMap<string, number>;
  close(): Promise<void>;
}

export interface ProxyOptions {
  /** Route requests of a session to the backend that opened it. */
  sticky?: boolean;
}

export async function startProxy(
  backends: readonly URL[],
  options: ProxyOptions = {},
): Promise<FrontEndProxy> {
  const hits = backends.map(() => 0);
  const sessions = new Map<string, number>();
  let next = 0;
  const choose = (req: IncomingMessage): number => {
    const session = req.headers["mcp-session-id"];
    const pinned =
      options.sticky && typeof session === "string" ? sessions.get(session) : undefined;
    if (pinned !== undefined) return pinned;
    const index = next;
    next = (next + 1) % backends.length;
    return index;
  };
  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    const index = choose(req);
    const backend = backends[index]!;
    hits[index]! += 1;
    const upstream = request(
      {
        host: backend.hostname,
        port: backend.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: backend.host },
      },
      (answer) => {
        const session = answer.headers["mcp-session-id"];
        if (typeof session === "string" && !sessions.has(session)) sessions.set(session, index);
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        res.flushHeaders();
        answer.pipe(res);
      },
    );
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(502).end("bad gateway");
      else res.destroy();
    });
    // The client went away (an event stream closed): so does the request to the backend.
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  };
  const server = createServer(forward);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const path = backends[0]!.pathname;
  return {
    url: new URL(`http://127.0.0.1:${port}${path}`),
    hits,
    sessions,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
