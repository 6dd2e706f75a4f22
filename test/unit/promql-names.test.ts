import { describe, expect, it } from "vitest";
import { exposedNames, metricNames, selectorsOf, toPromQL } from "../support/stack.js";

/** The helpers that tie dashboards and alert rules to real scrapes (test/support/stack.ts). */
describe("metricNames", () => {
  it("finds the selected metrics, not functions, keywords, labels, durations or numbers", () => {
    expect(
      metricNames(
        'histogram_quantile(0.95, sum by (le, stage) (rate(switchboard_stage_batch_duration_seconds_bucket{stage=~"route|deliver"}[$__rate_interval])))',
      ),
    ).toEqual(["switchboard_stage_batch_duration_seconds_bucket"]);
    expect(
      metricNames(`max by (stage) (switchboard_group_consumers) == 0
        and on (stage)
        (max by (stage) (switchboard_group_lag) > 0 or max(switchboard_group_pending) by (stage) > 0)`),
    ).toEqual([
      "switchboard_group_consumers",
      "switchboard_group_lag",
      "switchboard_group_pending",
    ]);
    expect(
      metricNames(
        'sum(rate(a_total{status=~"5..", x="by (y)"}[5m] offset 1h)) / ignoring (code) group_left b 1e3 > bool 2',
      ),
    ).toEqual(["a_total", "b"]);
    expect(metricNames("topk(10, max by (agent) (switchboard_inbox_backlog))")).toEqual([
      "switchboard_inbox_backlog",
    ]);
    expect(metricNames('up{job=~"switchboard-.*"} == 0')).toEqual(["up"]);
  });
});

describe("exposedNames", () => {
  it("reads the classic text format", () => {
    const names = exposedNames(
      [
        "# HELP switchboard_stage_entries_total Entries.",
        "# TYPE switchboard_stage_entries_total counter",
        'switchboard_stage_entries_total{stage="route",outcome="forwarded"} 3',
        "# TYPE switchboard_message_ack_seconds histogram",
        'switchboard_message_ack_seconds_bucket{le="0.1"} 1',
        "# TYPE switchboard_retries_total counter",
        "# TYPE switchboard_group_lag gauge",
        "",
      ].join("\n"),
    );
    expect([...names].sort()).toEqual([
      "switchboard_group_lag",
      "switchboard_message_ack_seconds_bucket",
      "switchboard_message_ack_seconds_count",
      "switchboard_message_ack_seconds_sum",
      "switchboard_retries_total",
      "switchboard_stage_entries_total",
    ]);
  });

  it("reads OpenMetrics, whose counter families leave out _total", () => {
    const names = exposedNames(
      [
        "# TYPE switchboard_webhook_requests counter",
        "# TYPE switchboard_message_delivery_seconds histogram",
        'switchboard_message_delivery_seconds_bucket{path="inbox",le="0.1"} 1 # {trace_id="abc"} 0.05',
        "# EOF",
      ].join("\n"),
    );
    expect(names.has("switchboard_webhook_requests_total")).toBe(true);
    expect(names.has("switchboard_webhook_requests")).toBe(false);
    expect(names.has("switchboard_message_delivery_seconds")).toBe(false);
    expect(names.has("switchboard_message_delivery_seconds_count")).toBe(true);
  });
});

describe("selectorsOf", () => {
  it("gives each selector of a metric with its matchers, not labels or functions", () => {
    expect(
      selectorsOf(
        'sum by (tool) (rate(a_total{job=~"$job", result="error", x!~"}"}[5m])) / sum by (tool) (rate(a_total[5m])) > bool up',
      ),
    ).toEqual([
      { name: "a_total", matchers: ['job=~"$job"', 'result="error"', 'x!~"}"'] },
      { name: "a_total", matchers: [] },
      { name: "up", matchers: [] },
    ]);
  });
});

describe("toPromQL", () => {
  it("replaces Grafana's interval variables", () => {
    expect(toPromQL("rate(x[$__rate_interval]) + rate(y[$__interval])", "30s")).toBe(
      "rate(x[30s]) + rate(y[30s])",
    );
  });

  it("replaces dashboard variables by the values given, and by .* otherwise", () => {
    expect(
      toPromQL('rate(x{job=~"$job", instance=~"${instance}"}[$__rate_interval])', "1m", {
        job: "(a|b)",
      }),
    ).toBe('rate(x{job=~"(a|b)", instance=~".*"}[1m])');
  });
});
