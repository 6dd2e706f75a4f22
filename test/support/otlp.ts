import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { decodeTraceRequest } from "./otlp-proto.js";

/**
 * A test OTLP/HTTP receiver (`POST /v1/traces`, protobuf or JSON by the request's
 * content type), standing in for an OpenTelemetry Collector: it keeps every span the
 * processes export, every request body as it came (to check what was never sent) and each
 * request's content type.
 */

type Value = string | number | boolean;

export interface CollectedSpan {
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP span kind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, Value>;
  links: { traceId: string; spanId: string }[];
  /** OTLP status: 0 unset, 1 ok, 2 error. */
  status: { code: number; message?: string };
  /** The attributes of the process's resource (`service.name`, `process.pid`, …). */
  resource: Record<string, Value>;
}

export const SpanKindCode = { server: 2, client: 3, producer: 4, consumer: 5 } as const;

export interface OtlpValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
}
export interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: OtlpAttribute[];
  links?: { traceId: string; spanId: string }[];
  status?: { code?: number; message?: string };
}
/** A trace export request as the JSON protocol writes it (ids in hex). */
export interface OtlpRequest {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: { spans?: OtlpSpan[] }[];
  }[];
}

export const PROTOBUF = "application/x-protobuf";
export const JSON_TYPE = "application/json";

function valueOf(v: OtlpValue): Value {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  return v.doubleValue ?? "";
}

function attributesOf(list: OtlpAttribute[] | undefined): Record<string, Value> {
  return Object.fromEntries((list ?? []).map((a) => [a.key, valueOf(a.value)]));
}

export class OtlpReceiver {
  readonly spans: CollectedSpan[] = [];
  /** Every request body, decoded to text. */
  readonly bodies: string[] = [];
  /** The content type of every request, in order. */
  readonly contentTypes: string[] = [];
  /** Requests it could not read (answered 400). */
  readonly errors: string[] = [];
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  /** Listens on a free loopback port. */
  static async start(): Promise<OtlpReceiver> {
    const server = createServer();
    const receiver = new OtlpReceiver(server);
    server.on("request", (request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const raw = Buffer.concat(chunks);
        const body = request.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw;
        const type = request.headers["content-type"] ?? "";
        if (request.method === "POST" && request.url === "/v1/traces") {
          receiver.contentTypes.push(type);
          receiver.bodies.push(body.toString("utf8"));
          try {
            receiver.#collect(
              type === PROTOBUF
                ? decodeTraceRequest(body)
                : (JSON.parse(body.toString()) as OtlpRequest),
            );
          } catch (error) {
            receiver.errors.push(`${type}: ${String(error)}`);
            response.writeHead(400).end();
            return;
          }
        }
        // An empty ExportTraceServiceResponse, in the request's encoding.
        if (type === PROTOBUF) response.writeHead(200, { "content-type": PROTOBUF }).end();
        else response.writeHead(200, { "content-type": JSON_TYPE }).end("{}");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return receiver;
  }

  /** `http://127.0.0.1:PORT`, for `OTEL_EXPORTER_OTLP_ENDPOINT`. */
  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  #collect(request: OtlpRequest): void {
    for (const rs of request.resourceSpans ?? []) {
      const resource = attributesOf(rs.resource?.attributes);
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          this.spans.push({
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId ?? "",
            name: s.name,
            kind: s.kind,
            attributes: attributesOf(s.attributes),
            links: (s.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId })),
            status: { code: s.status?.code ?? 0, message: s.status?.message },
            resource,
          });
        }
      }
    }
  }

  /** The spans of one trace. */
  trace(traceId: string): CollectedSpan[] {
    return this.spans.filter((s) => s.traceId === traceId);
  }

  /** Polls until `find` returns something (or throws after `timeoutMs`, naming `what`). */
  async waitFor<T>(what: string, find: () => T | undefined, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      if (Date.now() > deadline) {
        const names = this.spans.map((s) => s.name).join(", ");
        throw new Error(`timed out waiting for ${what}; spans so far: ${names || "none"}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
