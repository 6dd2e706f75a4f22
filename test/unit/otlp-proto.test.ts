import { SpanKind, SpanStatusCode, type Link } from "@opentelemetry/api";
import { JsonTraceSerializer, ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { describe, expect, it } from "vitest";
import { decodeTraceRequest } from "../support/otlp-proto.js";
import type { OtlpRequest } from "../support/otlp.js";

/**
 * The test receiver's protobuf decoder (test/support/otlp-proto.ts) against the OTLP
 * exporters' own serializers: the same spans, sent as protobuf and as JSON, read the same.
 */
function spans() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": "decoder-test", "process.pid": 42 }),
    spanProcessors: [new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer("t");
  const parent = tracer.startSpan("parent", { kind: SpanKind.SERVER });
  const link: Link = { context: parent.spanContext() };
  const child = tracer.startSpan(
    "child ünïcode",
    {
      kind: SpanKind.CONSUMER,
      links: [link],
      attributes: { text: "x", yes: true, count: -3, big: 2 ** 40, ratio: 0.25 },
    },
    undefined,
  );
  child.setStatus({ code: SpanStatusCode.ERROR, message: "POISON" });
  child.end();
  parent.end();
  return exporter.getFinishedSpans();
}

/** The JSON protocol's request, with ids and int64s as the decoder writes them. */
function fromJson(body: Uint8Array): OtlpRequest {
  return JSON.parse(Buffer.from(body).toString("utf8"), (key, value: unknown) =>
    key === "intValue" ? Number(value) : value,
  ) as OtlpRequest;
}

describe("decodeTraceRequest", () => {
  it("reads what the protobuf exporter sends as the JSON exporter sends it", () => {
    const finished = spans();
    const decoded = decodeTraceRequest(
      Buffer.from(ProtobufTraceSerializer.serializeRequest(finished)!),
    );
    const json = fromJson(JsonTraceSerializer.serializeRequest(finished)!);
    const pick = (request: OtlpRequest) =>
      request.resourceSpans!.map((rs) => ({
        resource: rs.resource?.attributes,
        spans: rs.scopeSpans!.flatMap((ss) =>
          ss.spans!.map((s) => ({
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId ?? "",
            name: s.name,
            kind: s.kind,
            attributes: s.attributes ?? [],
            links: (s.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId })),
            status: { code: s.status?.code ?? 0, message: s.status?.message ?? undefined },
          })),
        ),
      }));
    expect(pick(decoded)).toEqual(pick(json));
    const [child] = pick(decoded)[0]!.spans;
    expect(child).toMatchObject({
      name: "child ünïcode",
      kind: 5,
      status: { code: 2, message: "POISON" },
      attributes: expect.arrayContaining([
        { key: "count", value: { intValue: -3 } },
        { key: "big", value: { intValue: 2 ** 40 } },
        { key: "ratio", value: { doubleValue: 0.25 } },
        { key: "yes", value: { boolValue: true } },
      ]),
    });
    expect(child!.traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it("refuses a truncated request", () => {
    const body = Buffer.from(ProtobufTraceSerializer.serializeRequest(spans())!);
    expect(() => decodeTraceRequest(body.subarray(0, body.length - 3))).toThrow(
      /truncated|malformed/,
    );
  });
});
