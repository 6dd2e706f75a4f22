import { describe, expect, it } from "vitest";
import { STAGE_NAMES } from "../../src/config/pipeline.js";
import { eventually } from "../support/harness.js";
import { call, joinAs, useServe, type Fetched } from "../support/mcp.js";
import { hasSeries, probe, sampleKey, scrape, valueOf, type Scrape } from "../support/metrics.js";

/**
 * `/metrics`, `/healthz` and `/readyz` of a real `serve` (front end and all four stages in
 * one process) after known traffic: the documented series, with the values it must show.
 */
const fixture = useServe();

const SENT = 4;
const ACKED = 3;
/** What Prometheus sends: OpenMetrics first, plain text as a fallback. */
const PROMETHEUS_ACCEPT =
  "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

const stageEntries = (s: Scrape, stage: string, outcome: string) =>
  valueOf(s, "switchboard_stage_entries_total", { stage, outcome });

describe("serve's /metrics after known traffic", () => {
  let settled: Scrape;

  it("counts every stage's outcomes, latencies, tool calls, agents and backlog", async () => {
    const { url } = fixture.serve;
    const alice = await joinAs(url, "alice", "modern");
    const bob = await joinAs(url, "bob", "legacy");
    for (let i = 0; i < SENT; i++) {
      await call(alice.client, "send_message", { to: ["bob"], body: { i } });
    }
    const fetched: string[] = [];
    await eventually(async () => {
      const { messages } = await call<Fetched>(bob.client, "fetch_inbox", { wait_seconds: 2 });
      fetched.push(...messages.map((m) => m.message_id));
      return fetched.length >= SENT;
    }, 20_000);
    await call(bob.client, "ack_messages", { message_ids: fetched.slice(0, ACKED) });

    // persist gets, per message, `routed`, `delivered` and `read`, and `acked` for three.
    const persisted = 3 * SENT + ACKED;
    settled = await eventually(async () => {
      const s = await scrape(url);
      const quiet = STAGE_NAMES.every(
        (stage) =>
          s.samples.get(sampleKey("switchboard_group_lag", { stage, partition: "0" })) === 0 &&
          s.samples.get(sampleKey("switchboard_group_pending", { stage, partition: "0" })) === 0,
      );
      const done = s.samples.get(
        sampleKey("switchboard_stage_entries_total", { stage: "persist", outcome: "done" }),
      );
      return quiet && done === persisted ? s : undefined;
    }, 20_000);

    expect(settled.status).toBe(200);
    expect(settled.contentType).toBe("text/plain; version=0.0.4; charset=utf-8");
    for (const stage of ["validate", "route", "deliver"]) {
      expect(stageEntries(settled, stage, "forwarded"), stage).toBe(SENT);
    }
    for (const stage of STAGE_NAMES) {
      for (const outcome of ["rejected", "retried", "dead_lettered"]) {
        expect(stageEntries(settled, stage, outcome), `${stage} ${outcome}`).toBe(0);
      }
      const batches = valueOf(settled, "switchboard_stage_batch_duration_seconds_count", { stage });
      expect(batches).toBeGreaterThanOrEqual(1);
      expect(
        valueOf(settled, "switchboard_group_consumers", { stage, partition: "0" }),
      ).toBeGreaterThanOrEqual(1);
      expect(
        valueOf(settled, "switchboard_group_oldest_pending_seconds", { stage, partition: "0" }),
      ).toBe(0);
    }
    const delivered = { path: "inbox" };
    expect(valueOf(settled, "switchboard_message_delivery_seconds_count", delivered)).toBe(SENT);
    expect(
      valueOf(settled, "switchboard_message_delivery_seconds_bucket", { ...delivered, le: "+Inf" }),
    ).toBe(SENT);
    expect(
      valueOf(settled, "switchboard_message_delivery_seconds_count", { path: "webhook" }),
    ).toBe(0);
    expect(valueOf(settled, "switchboard_message_ack_seconds_count")).toBe(ACKED);

    const tool = (name: string, result: string) =>
      valueOf(settled, "switchboard_mcp_tool_calls_total", { tool: name, result });
    expect(tool("register_agent", "ok")).toBe(2);
    expect(tool("send_message", "ok")).toBe(SENT);
    expect(tool("ack_messages", "ok")).toBe(1);
    expect(tool("fetch_inbox", "ok")).toBeGreaterThanOrEqual(1);
    expect(tool("send_message", "error")).toBe(0);
    expect(
      valueOf(settled, "switchboard_mcp_tool_duration_seconds_count", { tool: "send_message" }),
    ).toBe(SENT);
    const posts = valueOf(settled, "switchboard_http_requests_total", {
      method: "POST",
      route: "/mcp",
      status: "200",
    });
    expect(posts).toBeGreaterThanOrEqual(2 + SENT + 1);
    expect(
      valueOf(settled, "switchboard_http_request_duration_seconds_count", { route: "/mcp" }),
    ).toBeGreaterThanOrEqual(posts);

    expect(valueOf(settled, "switchboard_agents", { status: "online" })).toBe(2);
    expect(valueOf(settled, "switchboard_agents", { status: "idle" })).toBe(0);
    expect(valueOf(settled, "switchboard_agents", { status: "offline" })).toBe(0);
    expect(valueOf(settled, "switchboard_inbox_backlog", { agent: "bob" })).toBe(SENT - ACKED);
    expect(hasSeries(settled, "switchboard_inbox_backlog")).toBe(true);
    expect(settled.samples.has(sampleKey("switchboard_inbox_backlog", { agent: "alice" }))).toBe(
      false,
    );
    expect(valueOf(settled, "switchboard_dead_letters_depth")).toBe(0);
    expect(valueOf(settled, "process_cpu_seconds_total")).toBeGreaterThan(0);
    expect(hasSeries(settled, "nodejs_heap_size_used_bytes")).toBe(true);
  });

  it("defines every metric of the contract, the lead-wired ones included", async () => {
    const { text } = await scrape(fixture.serve.url);
    for (const [name, type] of [
      ["switchboard_stage_entries_total", "counter"],
      ["switchboard_stage_batch_duration_seconds", "histogram"],
      ["switchboard_message_delivery_seconds", "histogram"],
      ["switchboard_message_ack_seconds", "histogram"],
      ["switchboard_retries_total", "counter"],
      ["switchboard_webhook_requests_total", "counter"],
      ["switchboard_webhook_request_duration_seconds", "histogram"],
      ["switchboard_dead_letters_total", "counter"],
      ["switchboard_errors_total", "counter"],
      ["switchboard_http_requests_total", "counter"],
      ["switchboard_http_request_duration_seconds", "histogram"],
      ["switchboard_mcp_tool_calls_total", "counter"],
      ["switchboard_mcp_tool_duration_seconds", "histogram"],
      ["switchboard_group_lag", "gauge"],
      ["switchboard_group_pending", "gauge"],
      ["switchboard_group_consumers", "gauge"],
      ["switchboard_group_oldest_pending_seconds", "gauge"],
      ["switchboard_dead_letters_depth", "gauge"],
      ["switchboard_retry_jobs", "gauge"],
      ["switchboard_breakers", "gauge"],
      ["switchboard_agents", "gauge"],
      ["switchboard_inbox_backlog", "gauge"],
    ]) {
      expect(text).toContain(`# TYPE ${name} ${type}\n`);
    }
  });

  it("speaks OpenMetrics to a scraper that asks for it, and plain text again afterwards", async () => {
    const { url } = fixture.serve;
    const open = await scrape(url, PROMETHEUS_ACCEPT);
    expect(open.contentType).toBe("application/openmetrics-text; version=1.0.0; charset=utf-8");
    expect(open.text.endsWith("# EOF\n")).toBe(true);
    expect(open.text).toContain("# TYPE switchboard_stage_entries counter\n");
    expect(
      valueOf(open, "switchboard_stage_entries_total", { stage: "deliver", outcome: "forwarded" }),
    ).toBe(SENT);
    const plain = await scrape(url);
    expect(plain.text).toContain("# TYPE switchboard_stage_entries_total counter\n");
    expect(
      valueOf(plain, "switchboard_stage_entries_total", { stage: "deliver", outcome: "forwarded" }),
    ).toBe(SENT);
  });

  it("answers /healthz and /readyz, and only GET or HEAD on them", async () => {
    const { url } = fixture.serve;
    const health = await probe(url, "/healthz");
    expect([health.status, health.text]).toEqual([200, "ok"]);
    const ready = await probe(url, "/readyz");
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text)).toMatchObject({
      ready: true,
      problems: [],
      status: { stages: { validate: { group_exists: true, lag: 0 } } },
    });
    const post = await fetch(new URL("/metrics", url), { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
  });
});
