import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local OTLP/HTTP sink for the tracing benchmark: answers every export at once and
 * counts what came, without parsing it (a collector's work is not what is measured, and it
 * shares the machine with the workers).
 */
export class OtlpSink {
  requests = 0;
  bytes = 0;
  /** Spans received: occurrences of `"spanId":` in the JSON bodies (no links here). */
  spans = 0;
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<OtlpSink> {
    const server = createServer();
    const sink = new OtlpSink(server);
    const needle = Buffer.from('"spanId":');
    server.on("request", (request, response) => {
      request.on("data", (chunk: Buffer) => {
        sink.bytes += chunk.length;
        // A needle split across two chunks is missed: a few in a million, fine for a count.
        for (let at = chunk.indexOf(needle); at >= 0; at = chunk.indexOf(needle, at + 1)) {
          sink.spans += 1;
        }
      });
      request.on("end", () => {
        sink.requests += 1;
        response.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return sink;
  }

  /** `http://127.0.0.1:PORT`, for `OTEL_EXPORTER_OTLP_ENDPOINT`. */
  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
