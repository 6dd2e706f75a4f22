import { describe, expect, it } from "vitest";
import { parsePipeline, STAGE_NAMES, type StageName } from "../../src/config/pipeline.js";
import { assess, silentAfterMs, type StageConsumers } from "../../src/health/readiness.js";
import type { StageStatus, StatusReport } from "../../src/health/status.js";

const pipeline = parsePipeline(
  { version: 1, health: { maxLag: 100, maxPending: 50 } },
  "test pipeline",
);

/** A report where every stage is idle and healthy, with some stages changed. */
function report(changes: Partial<Record<StageName, Partial<StageStatus>>> = {}): StatusReport {
  const stages = Object.fromEntries(
    STAGE_NAMES.map((name) => [
      name,
      {
        stream: `t:{p0}:${name}`,
        group: name,
        group_exists: true,
        length: 0,
        lag: 0,
        pending: 0,
        consumers: 1,
        oldest_pending_ms: null,
        ...changes[name],
      },
    ]),
  ) as Record<StageName, StageStatus>;
  const dead_letters = { stream: "t:dead", length: 0 };
  return {
    prefix: "t",
    pipeline: "test",
    stages,
    dead_letters,
    partitions: [{ partition: 0, stages, dead_letters }],
  };
}

function consumers(idleMs: number): StageConsumers {
  return Object.fromEntries(
    STAGE_NAMES.map((name) => [name, [{ name: `${name}-0`, pending: 0, idleMs }]]),
  ) as StageConsumers;
}

describe("readiness", () => {
  it("is ready when every group exists and nothing waits", () => {
    expect(assess(report(), pipeline, consumers(10 * 60_000))).toEqual([]);
  });

  it("is ready with no consumer at all while there is no work", () => {
    expect(assess(report({ route: { consumers: 0 } }), pipeline)).toEqual([]);
  });

  it("names a group that does not exist", () => {
    expect(assess(report({ deliver: { group_exists: false, consumers: 0 } }), pipeline)).toEqual([
      expect.stringMatching(/^stage 'deliver': group 'deliver' of t:\{p0\}:deliver does not exist/),
    ]);
  });

  it("names a stage with work and no consumer, and says what to start", () => {
    expect(
      assess(report({ validate: { lag: 3, pending: 1, consumers: 0, length: 4 } }), pipeline),
    ).toEqual([
      "stage 'validate': 4 entries waiting (lag 3, pending 1) and no consumer; start a worker for it (switchboard worker --stages validate)",
    ]);
  });

  it("takes consumers silent past twice claimIdleMs plus a janitor interval for gone, when there is work", () => {
    const silence = silentAfterMs(pipeline.stages.route);
    expect(silence).toBe(2 * 30_000 + 5000);
    const stuck = report({ route: { lag: 2 } });
    expect(assess(stuck, pipeline, consumers(silence))).toEqual([]);
    expect(assess(stuck, pipeline, consumers(silence + 1))).toEqual([
      expect.stringMatching(
        /^stage 'route': 2 entries waiting \(lag 2, pending 0\) and no live consumer \(1 silent for over 65 s\)/,
      ),
    ]);
  });

  it("names lag and pending over the thresholds of the pipeline file", () => {
    const problems = assess(report({ persist: { lag: 101, pending: 51 } }), pipeline);
    expect(problems).toEqual([
      expect.stringMatching(/^stage 'persist': lag 101 over health.maxLag 100/),
      expect.stringMatching(/^stage 'persist': 51 entries pending over health.maxPending 50/),
    ]);
    expect(assess(report({ persist: { lag: 100, pending: 50 } }), pipeline)).toEqual([]);
  });

  it("judges pending alone when Redis cannot tell the lag", () => {
    expect(assess(report({ route: { lag: null, pending: 0, consumers: 0 } }), pipeline)).toEqual(
      [],
    );
    expect(assess(report({ route: { lag: null, pending: 2, consumers: 0 } }), pipeline)).toEqual([
      expect.stringContaining("2 entries waiting (lag ?, pending 2) and no consumer"),
    ]);
  });
});

describe("the health section of the pipeline file", () => {
  it("has defaults", () => {
    expect(parsePipeline({ version: 1 }, "x").health).toEqual({
      maxLag: 10_000,
      maxPending: 10_000,
      redisTimeoutMs: 2000,
    });
  });

  it.each([
    [{ maxLag: 0 }, /field `health.maxLag`: expected a positive number of entries/],
    [{ maxPending: "many" }, /field `health.maxPending`: expected a positive whole number/],
    [{ maxlag: 5 }, /field `health`: .*maxlag/],
  ])("names the field of a mistake: %j", (health, message) => {
    expect(() => parsePipeline({ version: 1, health }, "x")).toThrowError(
      expect.objectContaining({ code: "CONFIG", message: expect.stringMatching(message) }),
    );
  });
});
