import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STAGE_NAMES } from "../../src/config/pipeline.js";
import { ROOT } from "../support/cli.js";
import { call, connectModern, joinAs, useServe } from "../support/mcp.js";
import {
  dashboards,
  panelsOf,
  readYaml,
  RULES_FILE,
  startPrometheus,
  toPromQL,
  variableQuery,
  which,
  type Prometheus,
  type Sample,
} from "../support/stack.js";

/**
 * A real Prometheus (Debian's package) scrapes a running `switchboard serve`, as the
 * stack's does, and answers the queries of dashboard panels with data; it also evaluates
 * every alert rule against what it scraped.
 */
const prometheusBin = which("prometheus");
const JOB = "switchboard-frontend";

const dashboard = (uid: string) => dashboards().find((d) => d.dashboard.uid === uid)!.dashboard;

/** What Grafana makes of a multi-value variable set to All: `(a|b)`, each value escaped. */
function allOf(values: string[]): string {
  const escaped = values.map((value) => value.replace(/[\\^$*+?.()|[\]{}]/g, "\\\\$&"));
  return escaped.length === 1 ? escaped[0]! : `(${escaped.join("|")})`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(prometheusBin === undefined)(
  "a real Prometheus scraping `switchboard serve` (skipped when prometheus is not on PATH: .ci/run installs Debian's prometheus package)",
  () => {
    const fixture = useServe();
    let prometheus: Prometheus;
    /** The sender's token; its client is opened per test (clients close after each). */
    let senderToken: string;
    let scraped: Promise<void> | undefined;

    /** Waits until Prometheus has scraped the front end, so that counters start from a sample. */
    async function firstScrape(): Promise<void> {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const { activeTargets } = await prometheus.get<{
          activeTargets: { health: string; lastError: string; scrapeUrl: string }[];
        }>("/api/v1/targets");
        if (activeTargets[0]?.health === "up") return;
        if (Date.now() > deadline) {
          throw new Error(
            `Prometheus cannot scrape ${activeTargets[0]?.scrapeUrl}: ${activeTargets[0]?.lastError}`,
          );
        }
        await sleep(250);
      }
    }

    beforeAll(async () => {
      const stack = readYaml<{ scrape_configs: { job_name: string }[] }>("docker/prometheus.yml");
      expect(stack.scrape_configs.map((job) => job.job_name)).toContain(JOB);
      prometheus = await startPrometheus(prometheusBin!, {
        global: { scrape_interval: "1s", evaluation_interval: "1s" },
        rule_files: [join(ROOT, RULES_FILE)],
        scrape_configs: [
          { job_name: JOB, static_configs: [{ targets: [fixture.serve.url.host] }] },
        ],
      });
      ({ token: senderToken } = await joinAs(fixture.serve.url, "sender", "modern"));
      await joinAs(fixture.serve.url, "reader", "modern");
    });
    afterAll(async () => {
      await prometheus?.stop();
    });

    /**
     * The values of a dashboard's query variables as Grafana sets them to All: each asks
     * Prometheus for the label values its `label_values(…)` names, with the variables
     * before it filled in.
     */
    async function variablesOf(uid: string): Promise<Record<string, string>> {
      const values: Record<string, string> = {};
      for (const variable of dashboard(uid).templating.list.filter((v) => v.type === "query")) {
        const query = variableQuery(variable);
        const [, selector = "", label = ""] = /^label_values\((.+), (\w+)\)$/.exec(query) ?? [];
        const match = encodeURIComponent(toPromQL(selector, "1m", values));
        const found = await prometheus.get<string[]>(
          `/api/v1/label/${label}/values?match[]=${match}`,
        );
        if (found.length === 0)
          throw new Error(`${uid}: variable ${variable.name} (${query}) has no values`);
        values[variable.name] = allOf(found);
      }
      return values;
    }

    /**
     * The PromQL of one target of a panel, as Prometheus takes it: `$__rate_interval` → 1m,
     * the dashboard's variables as Grafana sets them to All.
     */
    async function panelQuery(uid: string, title: string, refId = "A"): Promise<string> {
      await (scraped ??= firstScrape());
      const panel = panelsOf(dashboard(uid)).find((p) => p.title === title);
      const expr = panel?.targets?.find((t) => t.refId === refId)?.expr;
      if (expr === undefined) throw new Error(`${uid} has no panel '${title}' ${refId}`);
      return toPromQL(expr, "1m", await variablesOf(uid));
    }

    /** Sends a message every half second until `query` answers what `done` wants. */
    async function whileSending(
      query: string,
      done: (samples: Sample[]) => boolean,
    ): Promise<Sample[]> {
      await (scraped ??= firstScrape());
      const sender = await connectModern(fixture.serve.url, { token: senderToken });
      const deadline = Date.now() + 40_000;
      for (;;) {
        await call(sender, "send_message", { to: ["reader"], body: "counted" });
        await sleep(500);
        const samples = await prometheus.query(query);
        if (done(samples)) return samples;
        if (Date.now() > deadline) {
          throw new Error(`${query} answered ${JSON.stringify(samples)}`);
        }
      }
    }

    it("answers the pipeline dashboard's job and instance variables with the front end it scrapes", async () => {
      await (scraped ??= firstScrape());
      const values = await variablesOf("switchboard-pipeline");
      expect(values).toEqual({
        job: JOB,
        instance: allOf([fixture.serve.url.host]),
        partition: allOf(["0"]),
      });
      const query = await panelQuery("switchboard-pipeline", "Processes up");
      expect(query).toContain(`instance=~"${allOf([fixture.serve.url.host])}"`);
      const [up] = await prometheus.query(query);
      expect(up?.metric.job).toBe(JOB);
      expect(Number(up?.value[1])).toBe(1);
    });

    it("answers the throughput panel's query with every stage moving", async () => {
      const moving = (samples: Sample[]) =>
        new Set(samples.filter((s) => Number(s.value[1]) > 0).map((s) => s.metric.stage));
      const samples = await whileSending(
        await panelQuery("switchboard-pipeline", "Throughput per stage"),
        (s) => moving(s).size === STAGE_NAMES.length,
      );
      expect([...moving(samples)].sort()).toEqual([...STAGE_NAMES].sort());
    }, 60_000);

    it("answers the delivery latency panel's percentile with a number of seconds", async () => {
      const samples = await whileSending(
        await panelQuery("switchboard-pipeline", "Accepted → delivered", "B"),
        (s) => s.some((x) => x.metric.path === "inbox" && Number.isFinite(Number(x.value[1]))),
      );
      const p95 = Number(samples.find((s) => s.metric.path === "inbox")!.value[1]);
      expect(p95).toBeGreaterThan(0);
      expect(p95).toBeLessThan(30);
    }, 60_000);

    it("answers the Partitions row's lag query with a series per stage and partition", async () => {
      await (scraped ??= firstScrape());
      const samples = await prometheus.query(
        await panelQuery("switchboard-pipeline", "Lag by partition"),
      );
      expect(samples.map((s) => `${s.metric.stage} ${s.metric.partition}`).sort()).toEqual(
        STAGE_NAMES.map((stage) => `${stage} 0`).sort(),
      );
    });

    it("answers the agents panel's query from the cluster-wide gauges", async () => {
      const samples = await whileSending(
        await panelQuery("switchboard-pipeline", "Agents by status"),
        (s) => s.some((x) => x.metric.status === "online"),
      );
      const online = samples.find((s) => s.metric.status === "online")!;
      expect(Number(online.value[1])).toBeGreaterThanOrEqual(2);
    }, 60_000);

    it("evaluates every alert rule without an error", async () => {
      interface Rules {
        groups: { rules: { name: string; health: string; lastError?: string }[] }[];
      }
      // Every rule has been evaluated once within a few seconds (evaluation_interval 1s).
      const deadline = Date.now() + 10_000;
      for (;;) {
        await sleep(500);
        const { groups } = await prometheus.get<Rules>("/api/v1/rules");
        const evaluated = groups.flatMap((group) => group.rules);
        if (evaluated.some((rule) => rule.health === "unknown") && Date.now() < deadline) continue;
        expect(evaluated.length).toBeGreaterThan(0);
        expect(evaluated.filter((rule) => rule.health !== "ok")).toEqual([]);
        return;
      }
    });
  },
);
