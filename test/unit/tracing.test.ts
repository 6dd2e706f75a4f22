import {
  context,
  createContextKey,
  propagation,
  ROOT_CONTEXT,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-node";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StageDefinition } from "../../src/config/pipeline.js";
import { Field, text, type Output, type StreamEntry } from "../../src/streams/entry.js";
import type { Outcome } from "../../src/pipeline/stage.js";
import { SyncContextManager } from "../../src/telemetry/context.js";
import { traceBatch } from "../../src/pipeline/tracing.js";
import { createLogger, silentLogger } from "../../src/telemetry/log.js";
import {
  activeTraceparent,
  formatTraceparent,
  parseTraceparent,
  setTracing,
  skipsSpan,
  startChildSpan,
  startSpanFrom,
  traceparentOf,
  withSpan,
  withTraceparent,
} from "../../src/telemetry/spans.js";
import { tracingConfig } from "../../src/telemetry/tracing-config.js";
import { otlpProtocol, propagatorNames } from "../../src/telemetry/tracing-config.js";

const TRACE = "0af7651916cd43dd8448eb211c80319c";
const SPAN = "b7ad6b7169203331";
const TP = `00-${TRACE}-${SPAN}-01`;

describe("tracingConfig", () => {
  it("is off with nothing configured, and says how to turn it on", () => {
    expect(tracingConfig({})).toMatchObject({
      enabled: false,
      reason: expect.stringContaining("OTEL_TRACES_EXPORTER=otlp"),
    });
  });

  it("is on with an OTLP endpoint or OTEL_TRACES_EXPORTER=otlp", () => {
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" })).toEqual({
      enabled: true,
      endpoint: "http://collector:4318/v1/traces",
      protocol: "http/protobuf",
      sampler: "parentbased_always_on",
      parentBased: true,
      propagators: ["tracecontext", "baggage"],
      warnings: [],
    });
    expect(
      tracingConfig({
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://tempo:4318/v1/traces",
        OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
        OTEL_TRACES_SAMPLER_ARG: "0.01",
      }),
    ).toMatchObject({
      enabled: true,
      endpoint: "http://tempo:4318/v1/traces",
      sampler: "parentbased_traceidratio 0.01",
      parentBased: true,
    });
    expect(tracingConfig({ OTEL_TRACES_EXPORTER: "otlp" })).toMatchObject({
      enabled: true,
      endpoint: "http://localhost:4318/v1/traces",
    });
    expect(
      tracingConfig({ OTEL_TRACES_EXPORTER: "otlp", OTEL_TRACES_SAMPLER: "traceidratio" }),
    ).toMatchObject({ parentBased: false });
  });

  it("is off when disabled or the exporter is none, whatever else is set", () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" };
    expect(tracingConfig({ ...endpoint, OTEL_SDK_DISABLED: "true" }).enabled).toBe(false);
    expect(tracingConfig({ ...endpoint, OTEL_TRACES_EXPORTER: "none" }).enabled).toBe(false);
  });

  it("warns about exporters and protocols it does not have", () => {
    expect(tracingConfig({ OTEL_TRACES_EXPORTER: "console" })).toMatchObject({
      enabled: false,
      warnings: [expect.stringContaining("console not supported")],
    });
    expect(
      tracingConfig({ OTEL_TRACES_EXPORTER: "otlp", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }),
    ).toEqual({
      ...tracingConfig({ OTEL_TRACES_EXPORTER: "otlp" }),
      protocol: "http/protobuf",
      warnings: [
        "OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported (supported: http/protobuf, http/json); " +
          "spans are sent as http/protobuf (an OpenTelemetry Collector takes it on port 4318)",
      ],
    });
  });
});

describe("otlpProtocol", () => {
  it("is http/protobuf unless asked for http/json, the traces variable winning", () => {
    expect(otlpProtocol({})).toBe("http/protobuf");
    expect(otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: " " })).toBe("http/protobuf");
    expect(otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" })).toBe("http/json");
    expect(otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: "HTTP/JSON" })).toBe("http/json");
    expect(
      otlpProtocol({
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/protobuf",
      }),
    ).toBe("http/protobuf");
    const warnings: string[] = [];
    expect(otlpProtocol({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "grpc" }, warnings)).toBe(
      "http/protobuf",
    );
    expect(warnings).toEqual([
      expect.stringMatching(
        /^OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc is not supported \(supported: http\/protobuf, http\/json\)/,
      ),
    ]);
  });
});

describe("propagatorNames", () => {
  const parsed = (value: string | undefined) => {
    const warnings: string[] = [];
    return { names: propagatorNames({ OTEL_PROPAGATORS: value }, warnings), warnings };
  };

  it("is tracecontext and baggage when unset, as the specification says", () => {
    expect(parsed(undefined)).toEqual({ names: ["tracecontext", "baggage"], warnings: [] });
    expect(parsed("")).toEqual({ names: ["tracecontext", "baggage"], warnings: [] });
  });

  it("takes the ones named, in order, once each, whatever the case and spaces", () => {
    expect(parsed("baggage, TraceContext,baggage")).toEqual({
      names: ["baggage", "tracecontext"],
      warnings: [],
    });
    expect(parsed("tracecontext")).toEqual({ names: ["tracecontext"], warnings: [] });
  });

  it("propagates nothing for none", () => {
    expect(parsed("none")).toEqual({ names: [], warnings: [] });
    expect(parsed("none,tracecontext")).toEqual({
      names: [],
      warnings: ["OTEL_PROPAGATORS: none given: nothing is propagated"],
    });
  });

  it("leaves out what this build does not have, naming what it supports", () => {
    expect(parsed("tracecontext,b3,jaeger")).toEqual({
      names: ["tracecontext"],
      warnings: [
        "OTEL_PROPAGATORS: b3, jaeger not supported (supported: tracecontext, baggage, none); ignored",
      ],
    });
    expect(parsed("b3multi").names).toEqual([]);
  });

  it("is part of the configuration, its warnings too", () => {
    expect(
      tracingConfig({ OTEL_TRACES_EXPORTER: "otlp", OTEL_PROPAGATORS: "xray,baggage" }),
    ).toMatchObject({
      propagators: ["baggage"],
      warnings: [expect.stringContaining("xray not supported")],
    });
  });
});

describe("traceparent", () => {
  it("round-trips well-formed values", () => {
    const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
    fc.assert(
      fc.property(hex(32), hex(16), fc.boolean(), (traceId, spanId, sampled) => {
        fc.pre(/[^0]/.test(traceId) && /[^0]/.test(spanId));
        const value = `00-${traceId}-${spanId}-0${sampled ? 1 : 0}`;
        const parsed = parseTraceparent(value);
        expect(parsed).toMatchObject({ traceId, spanId, isRemote: true });
        expect(formatTraceparent(parsed!)).toBe(value);
      }),
    );
  });

  it("drops malformed values", () => {
    for (const value of [
      "garbage",
      "",
      TP.toUpperCase(),
      `00-${"0".repeat(32)}-${SPAN}-01`,
      `00-${TRACE}-${"0".repeat(16)}-01`,
      `ff-${TRACE}-${SPAN}-01`,
      `00-${TRACE}-${SPAN}-01-extra`,
      `00-${TRACE.slice(1)}-${SPAN}-01`,
    ]) {
      expect(parseTraceparent(value), value).toBeUndefined();
    }
    expect(parseTraceparent(undefined)).toBeUndefined();
  });

  it("lets a hop skip its span only under a well-formed, unsampled parent", () => {
    const unsampled = (flags: string) => `00-${TRACE}-${SPAN}-${flags}`;
    setTracing(true, true);
    const skips = [unsampled("00"), unsampled("0a"), Buffer.from(unsampled("02"))].map(skipsSpan);
    const keeps = [unsampled("01"), unsampled("0b"), unsampled("0A"), `01-${TRACE}-${SPAN}-00`]
      .concat([`00-${TRACE}-${SPAN.replace("b", "x")}-00`, "garbage", ""])
      .map(skipsSpan);
    setTracing(true, false);
    const followsNone = skipsSpan(unsampled("00"));
    setTracing(false);
    expect(skips).toEqual([true, true, true]);
    expect(keeps.some(Boolean)).toBe(false);
    expect(followsNone).toBe(false);
  });

  it("accepts a later version's extra fields, and reads Buffers", () => {
    expect(parseTraceparent(`01-${TRACE}-${SPAN}-01-more`)?.traceId).toBe(TRACE);
    expect(parseTraceparent(Buffer.from(TP))?.spanId).toBe(SPAN);
  });
});

const stage = {
  name: "route",
  stream: "route",
  group: "route",
} as StageDefinition;

function entry(id: string, fields: Record<string, string>): StreamEntry {
  return {
    id,
    fields: new Map(Object.entries(fields).map(([k, v]) => [k, Buffer.from(v)])),
  };
}

const output = (...fields: string[]): Output => ({ to: "deliver", fields });

function tpOf(o: Outcome, index = 0): string | undefined {
  if (o.kind !== "forward") return undefined;
  const fields = o.outputs[index]!.fields;
  const at = fields.indexOf(Field.traceparent);
  return at < 0 ? undefined : fields[at + 1]!.toString();
}

describe("the synchronous context manager of workers", () => {
  const key = createContextKey("k");
  const ctx = (value: string) => ROOT_CONTEXT.setValue(key, value);

  it("makes a context active while a function runs, nested, and restores the one before", () => {
    const manager = new SyncContextManager();
    const seen = manager.with(ctx("outer"), () => [
      manager.active().getValue(key),
      manager.with(ctx("inner"), () => manager.active().getValue(key)),
      manager.active().getValue(key),
    ]);
    expect(seen).toEqual(["outer", "inner", "outer"]);
    expect(manager.active()).toBe(ROOT_CONTEXT);
    expect(() =>
      manager.with(ctx("x"), () => {
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(manager.active()).toBe(ROOT_CONTEXT);
  });

  it("binds functions to a context, passing this and arguments on", () => {
    const manager = new SyncContextManager();
    const bound = manager.bind(ctx("bound"), function (this: { n: number }, add: number) {
      return [this.n + add, manager.active().getValue(key)];
    });
    expect(bound.call({ n: 1 }, 2)).toEqual([3, "bound"]);
  });

  it("keeps a context up to the first await only", async () => {
    const manager = new SyncContextManager();
    const after = await manager.with(ctx("v"), async () => {
      const before = manager.active().getValue(key);
      await Promise.resolve();
      return [before, manager.active().getValue(key)];
    });
    expect(after).toEqual(["v", undefined]);
  });
});

describe("a batch's trace, when this process does not trace", () => {
  it("carries each entry's traceparent on to its outputs", async () => {
    const entries = [entry("1-0", { mid: "a", tp: TP }), entry("2-0", { mid: "b" })];
    const batch = traceBatch(stage, entries, silentLogger);
    const outcomes: Outcome[] = [
      { kind: "forward", outputs: [output("rcpt", "x"), output("tp", "own")] },
      { kind: "forward", outputs: [output("rcpt", "y")] },
    ];
    const stamped = batch.stamp(outcomes);
    expect(tpOf(stamped[0]!)).toBe(TP);
    expect(tpOf(stamped[0]!, 1)).toBe("own");
    expect(stamped[1]).toBe(outcomes[1]);
    expect(await batch.ended(Promise.resolve(2), stamped)).toBe(2);
    expect(text(entries[0]!, Field.traceparent)).toBe(TP);
  });

  it("makes spans that carry their parent's context unchanged", () => {
    expect(traceparentOf(startSpanFrom("x", TP))).toBe(TP);
    expect(traceparentOf(startSpanFrom("x", "garbage"))).toBeUndefined();
    expect(traceparentOf(startChildSpan("x", TP))).toBe(TP);
    expect(traceparentOf(startChildSpan("x", undefined))).toBeUndefined();
  });
});

describe("with tracing on", () => {
  const exporter = new InMemorySpanExporter();
  beforeAll(() => {
    const provider = new NodeTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    provider.register();
    setTracing(true);
  });
  afterAll(() => {
    setTracing(false);
    trace.disable();
    context.disable();
    propagation.disable();
  });

  it("gives each entry a consumer span under its traceparent, and its outputs that span's", async () => {
    exporter.reset();
    const entries = [
      entry("1-0", { mid: "m1", tp: TP, rcpt: "bob" }),
      entry("2-0", { mid: "m2", tp: "00-bad-01" }),
      entry("3-0", { mid: "m3", tp: TP }),
    ];
    const batch = traceBatch(stage, entries, silentLogger);
    const outcomes: Outcome[] = [
      { kind: "forward", outputs: [output("t", "rcpt")] },
      { kind: "done" },
      { kind: "reject", status: "rejected", error: { code: "MALFORMED_ENTRY", message: "body x" } },
    ];
    const stamped = batch.stamp(outcomes);
    await batch.ended(Promise.resolve(3), outcomes);
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(["process route", "process route", "process route"]);
    const [first, second, third] = spans;
    expect(first!.spanContext().traceId).toBe(TRACE);
    expect(first!.parentSpanContext?.spanId).toBe(SPAN);
    expect(first!.attributes).toMatchObject({
      "messaging.message.id": "m1",
      "messaging.consumer.group.name": "route",
      "switchboard.recipient": "bob",
      "switchboard.outcome": "forward",
    });
    const own = formatTraceparent(first!.spanContext());
    expect(tpOf(stamped[0]!)).toBe(own);
    expect(text(entries[0]!, Field.traceparent)).toBe(own);
    // A malformed traceparent starts a new trace.
    expect(second!.parentSpanContext).toBeUndefined();
    expect(second!.spanContext().traceId).not.toBe(TRACE);
    // A refusal records its code, never its message.
    expect(third!.status).toEqual({ code: SpanStatusCode.ERROR, message: "MALFORMED_ENTRY" });
    expect(JSON.stringify(third!.attributes)).not.toContain("body x");
  });

  it("makes no span for a message not sampled, and carries nothing past the first stage", async () => {
    exporter.reset();
    setTracing(true, true);
    const entries = [entry("1-0", { mid: "m1", tp: `00-${TRACE}-${SPAN}-00` }), entry("2-0", {})];
    const batch = traceBatch(stage, entries, silentLogger);
    const forward: Outcome = { kind: "forward", outputs: [output("t", "rcpt")] };
    const stamped = batch.stamp([forward, forward]);
    await batch.ended(Promise.resolve(2), stamped);
    setTracing(true);
    expect(exporter.getFinishedSpans()).toEqual([]);
    expect(stamped.map((o) => tpOf(o))).toEqual([undefined, undefined]);
    expect(entries[0]!.fields.has(Field.traceparent)).toBe(false);
  });

  it("starts a trace at the first stage for an entry that has none", async () => {
    exporter.reset();
    const validate = { name: "validate", stream: "validate", group: "validate" } as StageDefinition;
    const batch = traceBatch(validate, [entry("1-0", { mid: "m1" })], silentLogger);
    const stamped = batch.stamp([{ kind: "forward", outputs: [output("t", "msg")] }]);
    await batch.ended(Promise.resolve(1), stamped);
    const [span] = exporter.getFinishedSpans();
    expect(span?.parentSpanContext).toBeUndefined();
    expect(tpOf(stamped[0]!)).toBe(formatTraceparent(span!.spanContext()));
  });

  it("continues only traced messages with startChildSpan", () => {
    exporter.reset();
    startChildSpan("child", TP).end();
    startChildSpan("none", undefined).end();
    startChildSpan("malformed", "00-zz").end();
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(["child"]);
    expect(traceparentOf(startChildSpan("none", undefined))).toBeUndefined();
  });

  it("parents what starts from the active context under a traceparent made active", () => {
    exporter.reset();
    withTraceparent(TP, () => trace.getTracer("bullmq").startSpan("add job").end());
    expect(exporter.getFinishedSpans()[0]?.parentSpanContext?.spanId).toBe(SPAN);
    expect(withTraceparent(TP, activeTraceparent)).toBe(TP);
  });

  it("marks every span of a batch whose commit failed", async () => {
    exporter.reset();
    const batch = traceBatch(stage, [entry("1-0", { mid: "m1", tp: TP })], silentLogger);
    const commit = Promise.reject(new Error("READONLY"));
    await expect(batch.ended(commit, [{ kind: "done" }])).rejects.toThrow("READONLY");
    expect(exporter.getFinishedSpans()[0]!.status.code).toBe(SpanStatusCode.ERROR);
  });

  it("puts the active span's ids on log lines, and the caller's fields", () => {
    const lines: string[] = [];
    const log = createLogger("info", { component: "test" }, (line) => lines.push(line));
    const span = startSpanFrom("work", TP);
    withSpan(span, () => log.child({ stage: "route" }).info("inside", { message_id: "m1" }));
    log.info("outside");
    log.debug("filtered");
    span.end();
    const [inside, outside] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(inside).toMatchObject({
      level: "info",
      msg: "inside",
      component: "test",
      stage: "route",
      message_id: "m1",
      trace_id: TRACE,
      span_id: span.spanContext().spanId,
    });
    expect(outside).not.toHaveProperty("trace_id");
  });
});

describe("log lines", () => {
  it("write each key once: a call's fields over its child's, a child's over its parent's", () => {
    const lines: string[] = [];
    const log = createLogger("debug", { component: "cli" }, (line) => lines.push(line));
    log.child({ component: "tracing", stage: "a" }).debug("x", { stage: "b" });
    expect(lines[0]?.match(/"component"/g)).toHaveLength(1);
    expect(lines[0]?.match(/"stage"/g)).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: "debug",
      component: "tracing",
      stage: "b",
    });
  });
});

describe("the cost of tracing when off", () => {
  it("imports only @opentelemetry/api statically: the SDK is loaded when tracing starts", () => {
    const src = fileURLToPath(new URL("../../src", import.meta.url));
    const files = readdirSync(src, { recursive: true, encoding: "utf8" })
      .filter((name) => name.endsWith(".ts"))
      .map((name) => ({ name, text: readFileSync(join(src, name), "utf8") }));
    const sdkImports = files.flatMap(({ name, text }) =>
      [...text.matchAll(/^import\s+(?!type\b)[^;]*?from\s+"(@opentelemetry\/[^"]+)"/gm)]
        .map((m) => m[1]!)
        .filter((module) => module !== "@opentelemetry/api")
        .map((module) => `${name}: ${module}`),
    );
    expect(sdkImports).toEqual([]);
  });
});
