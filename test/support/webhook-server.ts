import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  /** When it arrived, ms. */
  at: number;
  /** The request's path and query, e.g. `/hook?token=…`. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  messageId: string;
  /** What the server answered. */
  status?: number;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  /** Answer only after this long (to provoke timeouts). */
  delayMs?: number;
}

/** What to answer the nth request (from 0) for a message, and the request itself. */
export type Responder = (request: Received, nthForMessage: number) => Answer;

/** A real HTTP receiver that fails on purpose, recording every request it gets. */
export class WebhookServer {
  readonly received: Received[] = [];
  respond: Responder;
  readonly #server: Server;

  private constructor(respond: Responder) {
    this.respond = respond;
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const request: Received = {
          at: Date.now(),
          path: req.url ?? "/",
          headers: req.headers,
          body: Buffer.concat(chunks).toString("utf8"),
          messageId: String(req.headers["x-switchboard-message-id"]),
        };
        const nth = this.received.filter((r) => r.messageId === request.messageId).length;
        this.received.push(request);
        const answer = this.respond(request, nth);
        request.status = answer.status;
        setTimeout(() => res.writeHead(answer.status, answer.headers).end(), answer.delayMs ?? 0);
      });
    });
  }

  static async start(respond: Responder = () => ({ status: 200 })): Promise<WebhookServer> {
    const server = new WebhookServer(respond);
    await new Promise<void>((resolve) => server.#server.listen(0, "127.0.0.1", resolve));
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hook`;
  }

  /** How many requests for a message were answered 2xx. */
  deliveries(messageId: string): number {
    return this.for(messageId).filter((r) => r.status! >= 200 && r.status! < 300).length;
  }

  /** The requests for one message. */
  for(messageId: string): Received[] {
    return this.received.filter((r) => r.messageId === messageId);
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
