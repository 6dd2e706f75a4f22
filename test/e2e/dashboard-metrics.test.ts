import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { finished, start, type RunResult } from "../support/cli.js";
import { call, joinAs, useServe, type Fetched } from "../support/mcp.js";
import { exposedNames, freePort, metricNames, promQueries } from "../support/stack.js";

/**
 * Every Switchboard metric that a dashboard panel or an alert rule queries exists in
 * `/metrics`: the front end's (`serve --no-workers`, as in docker/compose.yaml) and a
 * worker's (`worker --metrics-port`), scraped after a message went through both, in the
 * classic text format and in OpenMetrics (what Prometheus asks for).
 */
const fixture = useServe({ args: ["--no-workers"] });
const SWITCHBOARD_METRIC = /^(switchboard|process|nodejs)_/;
/** Prometheus's own Accept header: OpenMetrics first. */
const PROMETHEUS_ACCEPT =
  "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

let worker: ChildProcess;
let workerExit: Promise<RunResult>;
let workerOrigin: string;

beforeAll(async () => {
  const port = await freePort();
  workerOrigin = `http://127.0.0.1:${port}`;
  worker = start(["worker", "--metrics-port", String(port)], fixture.env);
  workerExit = finished(worker);
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (worker.exitCode !== null) {
      const { code, stderr } = await workerExit;
      throw new Error(`worker --metrics-port ${port} exited with ${code}:\n${stderr}`);
    }
    const status = await fetch(`${workerOrigin}/healthz`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) break;
    if (Date.now() > deadline) throw new Error(`worker: no /healthz on ${workerOrigin}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
});

afterAll(async () => {
  if (worker?.exitCode === null) {
    worker.kill("SIGTERM");
    await workerExit;
  }
});

async function scrape(origin: string, accept?: string): Promise<string> {
  const response = await fetch(`${origin}/metrics`, accept ? { headers: { accept } } : {});
  const body = await response.text();
  expect(response.status, `${origin}/metrics: ${body}`).toBe(200);
  return body;
}

describe("metrics the dashboards and alert rules query", () => {
  it("are all in /metrics of the front end or a worker, after a message went through", async () => {
    const { url } = fixture.serve;
    const sender = await joinAs(url, "metrics-sender", "modern");
    const reader = await joinAs(url, "metrics-reader", "modern");
    const { message_id } = await call<{ message_id: string }>(sender.client, "send_message", {
      to: [reader.name],
      body: "measure me",
    });
    const { messages } = await call<Fetched>(reader.client, "fetch_inbox", { wait_seconds: 15 });
    expect(messages.map((m) => m.message_id)).toEqual([message_id]);
    await call(reader.client, "ack_messages", { message_ids: [message_id] });

    const wanted = promQueries().flatMap(({ where, expr }) =>
      metricNames(expr)
        .filter((name) => SWITCHBOARD_METRIC.test(name))
        .map((name) => ({ name, where })),
    );
    expect(wanted.length).toBeGreaterThan(20);
    for (const accept of [undefined, PROMETHEUS_ACCEPT]) {
      const exposed = new Set([
        ...exposedNames(await scrape(url.origin, accept)),
        ...exposedNames(await scrape(workerOrigin, accept)),
      ]);
      const missing = wanted
        .filter(({ name }) => !exposed.has(name))
        .map(({ name, where }) => `${name} (${where})`);
      expect([...new Set(missing)], `Accept: ${accept ?? "none"}`).toEqual([]);
    }
  });

  it("include the cluster-wide gauges, which the front end exports", async () => {
    const exposed = exposedNames(await scrape(fixture.serve.url.origin));
    const gauges = promQueries()
      .flatMap(({ expr }) => metricNames(expr))
      .filter((name) =>
        /^switchboard_(group_\w+|dead_letters|retry_jobs|breakers|agents|inbox_backlog)$/.test(
          name,
        ),
      );
    expect(gauges.length).toBeGreaterThan(5);
    expect(gauges.filter((name) => !exposed.has(name))).toEqual([]);
  });
});
