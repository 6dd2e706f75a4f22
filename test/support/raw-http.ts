import { request } from "node:http";
import { connect, type Socket } from "node:net";
import { initializeRequest } from "./mcp.js";

/**
 * HTTP as an attacker writes it: bytes on a socket, or requests from a chosen loopback
 * address (all of 127.0.0.0/8 reaches a server on 127.0.0.1), each on a connection of its
 * own that is closed after the answer.
 */

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** Writes `raw` (or the chunks, one after another) on a new connection; resolves to all it read once closed. */
export function exchange(
  url: URL,
  raw: string | Buffer | readonly (string | Buffer)[],
): Promise<string> {
  return new Promise((resolve) => {
    const chunks = typeof raw === "string" || Buffer.isBuffer(raw) ? [raw] : raw;
    const socket = connect(Number(url.port), url.hostname, () => {
      for (const chunk of chunks) if (!socket.destroyed) socket.write(chunk);
    });
    let read = "";
    socket.on("data", (chunk: Buffer) => (read += chunk.toString("latin1")));
    socket.on("close", () => resolve(read));
    // A server that answered and closed mid-write resets the rest: what was read stands.
    socket.on("error", () => undefined);
  });
}

/**
 * A connection that stays open, doing nothing after `raw`, until the test or the server
 * ends it; `closed` resolves to what it read by then. One the server drops at once (over
 * its connection limit) resolves too, already closed.
 */
export function openIdle(url: URL, raw = ""): Promise<{ socket: Socket; closed: Promise<string> }> {
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    let read = "";
    socket.on("data", (chunk: Buffer) => (read += chunk.toString("latin1")));
    socket.on("error", () => undefined);
    const closed = new Promise<string>((done) => socket.on("close", () => done(read)));
    const opened = () => resolve({ socket, closed });
    socket.once("connect", () => {
      if (raw !== "") socket.write(raw);
      opened();
    });
    socket.once("close", opened);
  });
}

export interface RawRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** The local address to send from, e.g. `127.0.0.2`. */
  from?: string;
}

/** One request on its own connection (no keep-alive pool), from `from` if given. */
export function send(url: URL, options: RawRequest = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method: options.method ?? "GET",
        path: options.path ?? url.pathname,
        headers: { connection: "close", ...options.headers },
        agent: false,
        ...(options.from === undefined ? {} : { localAddress: options.from }),
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

const JSON_HEADERS = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
};

/** POSTs a JSON-RPC message to /mcp (of a session, if given) from `from`. */
export function postMcp(
  url: URL,
  message: unknown,
  options: { from?: string; session?: string } = {},
): Promise<RawAnswer> {
  const headers: Record<string, string> = { ...JSON_HEADERS };
  if (options.session !== undefined) {
    headers["mcp-session-id"] = options.session;
    headers["mcp-protocol-version"] = "2025-11-25";
  }
  return send(url, {
    method: "POST",
    headers,
    body: JSON.stringify(message),
    ...(options.from === undefined ? {} : { from: options.from }),
  });
}

/** A 2025-11-25 `initialize`, as a client without credentials sends it. */
export const INITIALIZE = initializeRequest("hostile");
