import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ListeningProcess } from "../support/cli.js";
import {
  call,
  connectLegacy,
  fastPipelineWith,
  joinAs,
  useServe,
  type Fetched,
} from "../support/mcp.js";
import { familyProblems, parseSamples, sampleKey, startWorker } from "../support/metrics.js";
import { metricsLint, SKIP_PROMTOOL, SKIP_PROMTOOL_REASON } from "../support/promtool.js";
import { exposedNames, metricNames, promQueries } from "../support/stack.js";
import { WebhookServer } from "../support/webhook-server.js";

/**
 * The `/metrics` of a front end (`serve --no-workers`, as in docker/compose.yaml) and of a
 * worker (`worker --metrics-port 0`), scraped after a message went through both and
 * another was retried and dead-lettered, in the classic text format and in OpenMetrics
 * (what Prometheus asks for): every metric a dashboard panel or an alert rule queries is
 * there, and promtool finds nothing wrong with either format.
 */
const fixture = useServe({
  args: ["--no-workers"],
  yaml: fastPipelineWith({ retries: { delivery: { attempts: 4, delayMs: 100, jitter: 0 } } }),
});
const SWITCHBOARD_METRIC = /^(switchboard|process|nodejs)_/;
/** The gauges read from Redis when a front end is scraped (docs/operations.md). */
const CLUSTER_GAUGE =
  /^switchboard_(group_\w+|dead_letters_depth|retry_jobs|breakers|agents|inbox_backlog)$/;
/** Prometheus's own Accept header: OpenMetrics first. */
const PROMETHEUS_ACCEPT =
  "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
const FORMATS = [
  { format: "text 0.0.4", accept: undefined },
  { format: "OpenMetrics", accept: PROMETHEUS_ACCEPT },
] as const;

let worker: ListeningProcess;
let hook: WebhookServer;

async function scrape(origin: string, accept?: string): Promise<string> {
  const response = await fetch(`${origin}/metrics`, accept ? { headers: { accept } } : {});
  const body = await response.text();
  expect(response.status, `${origin}/metrics: ${body}`).toBe(200);
  return body;
}

/** Both processes' expositions in one format: front end, then worker. */
async function scrapeBoth(accept?: string): Promise<{ process: string; text: string }[]> {
  return [
    { process: "front end", text: await scrape(fixture.serve.url.origin, accept) },
    { process: "worker", text: await scrape(worker.url.origin, accept) },
  ];
}

/** Polls front end and worker until `done` holds for what they export, summed. */
async function until(done: (samples: Map<string, number>) => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const samples = new Map<string, number>();
    for (const { text } of await scrapeBoth()) {
      for (const [key, value] of parseSamples(text)) {
        samples.set(key, (samples.get(key) ?? 0) + value);
      }
    }
    if (done(samples)) return;
    if (Date.now() > deadline) {
      const seen = [...samples].filter(([key]) => key.startsWith("switchboard_dead"));
      throw new Error(`the dead letter never showed in /metrics: ${JSON.stringify(seen)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

beforeAll(async () => {
  worker = await startWorker(fixture.env);
  // A webhook that fails once (retried), then refuses for good (dead-lettered).
  hook = await WebhookServer.start((_, n) => ({ status: n === 0 ? 503 : 400 }));
  const { url } = fixture.serve;
  const sender = await joinAs(url, "metrics-sender", "modern");
  const reader = await joinAs(url, "metrics-reader", "modern");
  const hooked = await connectLegacy(url);
  await call(hooked, "register_agent", { name: "metrics-hook", webhook_url: hook.url });
  const { message_id } = await call<{ message_id: string }>(sender.client, "send_message", {
    to: [reader.name],
    body: "measure me",
  });
  const { messages } = await call<Fetched>(reader.client, "fetch_inbox", { wait_seconds: 15 });
  expect(messages.map((m) => m.message_id)).toEqual([message_id]);
  await call(reader.client, "ack_messages", { message_ids: [message_id] });
  await call(sender.client, "send_message", { to: ["metrics-hook"], body: "refused" });
  await until(
    (s) =>
      (s.get(sampleKey("switchboard_dead_letters_depth")) ?? 0) >= 1 &&
      (s.get(
        sampleKey("switchboard_dead_letters_total", { stage: "deliver", code: "WEBHOOK_REJECTED" }),
      ) ?? 0) >= 1,
  );
}, 60_000);

afterAll(async () => {
  await worker?.stop();
  await hook?.close();
});

describe("metrics the dashboards and alert rules query", () => {
  it("are all in /metrics of the front end or a worker", async () => {
    const wanted = promQueries().flatMap(({ where, expr }) =>
      metricNames(expr)
        .filter((name) => SWITCHBOARD_METRIC.test(name))
        .map((name) => ({ name, where })),
    );
    expect(wanted.length).toBeGreaterThan(20);
    for (const { format, accept } of FORMATS) {
      const exposed = new Set(
        (await scrapeBoth(accept)).flatMap(({ text }) => [...exposedNames(text)]),
      );
      const missing = wanted
        .filter(({ name }) => !exposed.has(name))
        .map(({ name, where }) => `${name} (${where})`);
      expect([...new Set(missing)], format).toEqual([]);
    }
  });

  it("include the cluster-wide gauges, which the front end exports and a worker does not", async () => {
    const exposed = exposedNames(await scrape(fixture.serve.url.origin));
    const gauges = promQueries()
      .flatMap(({ expr }) => metricNames(expr))
      .filter((name) => CLUSTER_GAUGE.test(name));
    expect(gauges.length).toBeGreaterThan(5);
    expect(gauges.filter((name) => !exposed.has(name))).toEqual([]);
    const fromWorker = [...parseSamples(await scrape(worker.url.origin)).keys()];
    expect(fromWorker.filter((key) => CLUSTER_GAUGE.test(key.split("{")[0]!))).toEqual([]);
  });
});

describe("the expositions", () => {
  it("have a sample of every Switchboard family between the two processes", async () => {
    for (const { format, accept } of FORMATS) {
      const texts = (await scrapeBoth(accept)).map(({ text }) => text);
      const declared = new Set(
        texts.flatMap((text) =>
          [...text.matchAll(/^# TYPE (switchboard_\w+) /gm)].map((m) => m[1]!),
        ),
      );
      const sampled = new Set(
        texts.flatMap((text) => [...parseSamples(text).keys()].map((key) => key.split("{")[0]!)),
      );
      const empty = [...declared].filter(
        (family) =>
          ![family, `${family}_total`, `${family}_count`].some((name) => sampled.has(name)),
      );
      expect(empty, format).toEqual([]);
      expect(declared.size, format).toBeGreaterThan(20);
    }
  });

  it("declare each family once, a counter's family being its name without _total", async () => {
    for (const { format, accept } of FORMATS) {
      for (const { process, text } of await scrapeBoth(accept)) {
        expect(familyProblems(text), `${process}, ${format}`).toEqual([]);
      }
    }
  });

  it.skipIf(SKIP_PROMTOOL)(
    `pass \`promtool check metrics\` (${SKIP_PROMTOOL_REASON})`,
    async () => {
      for (const { format, accept } of FORMATS) {
        for (const { process, text } of await scrapeBoth(accept)) {
          expect(await metricsLint(text), `${process}, ${format}`).toEqual([]);
        }
      }
    },
  );
});
