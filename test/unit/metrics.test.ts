import { trace } from "@opentelemetry/api";
import { AlwaysOffSampler, NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { describe, expect, it } from "vitest";
import { uuidv7 } from "../../src/protocol/ids.js";
import {
  OPENMETRICS_CONTENT_TYPE,
  prefersOpenMetrics,
  PROMETHEUS_CONTENT_TYPE,
  renderMetrics,
} from "../../src/telemetry/exposition.js";
import { enableDefaultMetrics, metrics } from "../../src/telemetry/metrics.js";
import { secondsSinceAccepted, stageBatch } from "../../src/telemetry/record.js";
import { familyProblems, parseSamples, sampleKey } from "../support/metrics.js";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";

async function samples(openMetrics = false): Promise<Map<string, number>> {
  return parseSamples((await renderMetrics(openMetrics)).body);
}

describe("content negotiation", () => {
  it.each([
    [
      "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
      true,
    ],
    [
      "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,text/plain;version=1.0.0;q=0.3,*/*;q=0.1",
      true,
    ],
    ["application/openmetrics-text; version=1.0.0", true],
    [undefined, false],
    ["*/*", false],
    ["text/plain", false],
    ["text/html,application/xhtml+xml,*/*;q=0.8", false],
    ["application/openmetrics-text;q=0", false],
    ["application/openmetrics-text;q=0.3,text/plain;q=0.5", false],
  ])("Accept %j → OpenMetrics %s", (accept, expected) => {
    expect(prefersOpenMetrics(accept)).toBe(expected);
  });

  it("renders either format from one registry, counters keeping `_total` in plain text", async () => {
    metrics.stageEntries.inc({ stage: "route", outcome: "rejected" }, 2);
    const open = await renderMetrics(true);
    expect(open.contentType).toBe(OPENMETRICS_CONTENT_TYPE);
    expect(open.body).toContain("# TYPE switchboard_stage_entries counter\n");
    expect(open.body).toMatch(/# EOF\n$/);
    const plain = await renderMetrics(false);
    expect(plain.contentType).toBe(PROMETHEUS_CONTENT_TYPE);
    expect(plain.body).toContain("# TYPE switchboard_stage_entries_total counter\n");
    for (const body of [open.body, plain.body]) {
      expect(
        parseSamples(body).get(
          sampleKey("switchboard_stage_entries_total", { stage: "route", outcome: "rejected" }),
        ),
      ).toBe(2);
    }
  });
});

describe("metric names", () => {
  it("give each family one declaration in either format, a counter's family being its name without _total", async () => {
    enableDefaultMetrics();
    for (const openMetrics of [false, true]) {
      const { body } = await renderMetrics(openMetrics);
      expect(familyProblems(body), openMetrics ? "OpenMetrics" : "text 0.0.4").toEqual([]);
      expect(body).toContain("# TYPE switchboard_dead_letters_depth gauge\n");
    }
  });

  it("follow Prometheus's conventions: _total on counters only, base units, snake_case", async () => {
    const { body } = await renderMetrics(false);
    const types = [...body.matchAll(/^# TYPE (switchboard_\w+) (\w+)$/gm)];
    expect(types.length).toBeGreaterThan(20);
    for (const [, name = "", type] of types) {
      expect(name.endsWith("_total"), name).toBe(type === "counter");
      expect(name, name).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(name, name).not.toMatch(
        /_(ms|milliseconds|sec|secs|minutes|hours|kb|mb|kilobytes|megabytes)(_|$)/,
      );
      if (/duration|latency|_age(_|$)|_time(_|$)/.test(name))
        expect(name, name).toMatch(/_seconds$/);
    }
    for (const [, labels = ""] of body.matchAll(/^switchboard_\w+\{([^}]*)\}/gm)) {
      for (const [, label] of labels.matchAll(/(\w+)="/g)) {
        expect(label, label).toMatch(/^[a-z][a-z0-9_]*$/);
      }
    }
  });
});

describe("recorders", () => {
  it("counts a batch's outcomes by stage and times it", async () => {
    const batch = stageBatch("validate");
    batch.done([
      { kind: "forward", outputs: [] },
      { kind: "forward", outputs: [] },
      { kind: "done" },
      { kind: "retry", error: { code: "INTERNAL", message: "x" } },
      { kind: "reject", status: "rejected", error: { code: "TOO_LARGE", message: "x" } },
    ]);
    const s = await samples();
    const count = (outcome: string) =>
      s.get(sampleKey("switchboard_stage_entries_total", { stage: "validate", outcome }));
    expect([count("forwarded"), count("done"), count("retried"), count("rejected")]).toEqual([
      2, 1, 1, 1,
    ]);
    expect(count("dead_lettered")).toBe(0);
    expect(
      s.get(sampleKey("switchboard_stage_batch_duration_seconds_count", { stage: "validate" })),
    ).toBe(1);
  });

  it("reads the acceptance time from the UUIDv7 message id", () => {
    const now = Date.now();
    expect(secondsSinceAccepted(uuidv7(now - 1500), now)).toBeCloseTo(1.5, 2);
    expect(secondsSinceAccepted(uuidv7(now + 5000), now)).toBe(0);
    expect(secondsSinceAccepted("not-a-uuid", now)).toBeUndefined();
    expect(secondsSinceAccepted("0b9f3a52-1c4e-4f8a-9d2b-7e6c5a4b3c2d", now)).toBeUndefined();
  });
});

describe("exemplars on the latency histograms", () => {
  it("carry the trace id given, in OpenMetrics only", async () => {
    metrics.messageDelivery.observe({ path: "webhook" }, 0.04, TRACE_ID);
    const open = (await renderMetrics(true)).body;
    expect(open).toMatch(
      new RegExp(
        `^switchboard_message_delivery_seconds_bucket\\{le="[^"]+",path="webhook"\\} 1 # \\{trace_id="${TRACE_ID}"\\} 0\\.04 [\\d.]+$`,
        "m",
      ),
    );
    expect((await renderMetrics(false)).body).not.toContain("trace_id");
  });

  it("take the active span's trace id when it is sampled, and none otherwise", async () => {
    new NodeTracerProvider().register();
    const traced = trace.getTracer("test").startActiveSpan("ack", (span) => {
      metrics.messageAck.observe({}, 0.07);
      span.end();
      return span.spanContext().traceId;
    });
    const unsampled = new NodeTracerProvider({ sampler: new AlwaysOffSampler() }).getTracer("off");
    unsampled.startActiveSpan("ack", (span) => {
      metrics.messageAck.observe({}, 20);
      span.end();
    });
    const open = (await renderMetrics(true)).body;
    const exemplars = open
      .split("\n")
      .filter(
        (line) => line.startsWith("switchboard_message_ack_seconds_bucket") && line.includes("#"),
      );
    expect(exemplars).toEqual([expect.stringContaining(`{trace_id="${traced}"} 0.07 `)]);
  });
});
