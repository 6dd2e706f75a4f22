import { describe, expect, it } from "vitest";
import { loadPipeline } from "../../src/config/pipeline.js";
import { ensureGroups } from "../../src/streams/groups.js";
import { Keys } from "../../src/redis/keys.js";
import { eventually } from "../support/harness.js";
import { call, joinAs, useServe } from "../support/mcp.js";
import { hasSeries, probe, sampleKey, scrape, startWorker, valueOf } from "../support/metrics.js";

/**
 * `/readyz` of a front end alone (`serve --no-workers`) judges the whole pipeline: not
 * ready while no worker ever ran, nor while a stage has work and no consumer; ready once
 * a `worker` takes it. The worker serves its own `/metrics` (`--metrics-port`).
 */
const fixture = useServe({ args: ["--no-workers"] });

interface Readiness {
  ready: boolean;
  problems: string[];
}

async function readiness(): Promise<{ status: number; body: Readiness }> {
  const answer = await probe(fixture.serve.url, "/readyz");
  return { status: answer.status, body: JSON.parse(answer.text) as Readiness };
}

describe("/readyz of serve --no-workers", () => {
  it("is 503 naming the groups that no worker has created", async () => {
    const { status, body } = await readiness();
    expect(status).toBe(503);
    expect(body.ready).toBe(false);
    expect(body.problems).toHaveLength(4);
    expect(body.problems[0]).toMatch(/^stage 'validate': group 'validate' of .* does not exist/);
  });

  it("is 503 naming a stage with entries and no consumer, 200 once a worker runs it", async () => {
    const { url } = fixture.serve;
    const pipeline = loadPipeline(fixture.pipeline);
    await ensureGroups(fixture.redis, new Keys(fixture.prefix), pipeline);
    const ann = await joinAs(url, "ann", "modern");
    await joinAs(url, "ben", "modern");
    await call(ann.client, "send_message", { to: ["ben"], body: "one" });
    await call(ann.client, "send_message", { to: ["ben"], body: "two" });

    const stuck = await readiness();
    expect(stuck.status).toBe(503);
    expect(stuck.body.problems).toEqual([
      expect.stringMatching(
        /^stage 'validate': 2 entries waiting \(lag 2, pending 0\) and no consumer; start a worker for it \(switchboard worker --stages validate\)$/,
      ),
    ]);
    const gauges = await scrape(url);
    expect(valueOf(gauges, "switchboard_group_lag", { stage: "validate", partition: "0" })).toBe(2);
    expect(
      valueOf(gauges, "switchboard_group_consumers", { stage: "validate", partition: "0" }),
    ).toBe(0);
    expect(
      valueOf(gauges, "switchboard_stage_entries_total", {
        stage: "validate",
        outcome: "forwarded",
      }),
    ).toBe(0);

    const worker = await startWorker(fixture.env);
    await eventually(async () => (await readiness()).status === 200, 20_000);

    // The worker's own endpoint: its stage counts, its readiness, no cluster gauges.
    const own = await eventually(async () => {
      const s = await scrape(worker.url);
      const deliver = s.samples.get(
        sampleKey("switchboard_stage_entries_total", { stage: "deliver", outcome: "forwarded" }),
      );
      return deliver === 2 ? s : undefined;
    }, 20_000);
    expect(
      valueOf(own, "switchboard_stage_entries_total", { stage: "validate", outcome: "forwarded" }),
    ).toBe(2);
    expect(valueOf(own, "switchboard_message_delivery_seconds_count", { path: "inbox" })).toBe(2);
    expect(valueOf(own, "process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(hasSeries(own, "switchboard_group_lag")).toBe(false);
    const workerReady = await probe(worker.url, "/readyz");
    expect(workerReady.status).toBe(200);
    expect(JSON.parse(workerReady.text)).toMatchObject({ ready: true, problems: [] });
    expect((await probe(worker.url, "/healthz")).text).toBe("ok");
    expect((await probe(worker.url, "/mcp")).status).toBe(404);

    const { code } = await worker.stop();
    expect(code).toBe(0);
  });
});
