import { afterAll, describe, expect, it } from "vitest";
import { parsePipeline } from "../../src/config/pipeline.js";
import { readStatus } from "../../src/health/status.js";
import { clusterReadiness } from "../../src/health/readiness.js";
import {
  checkPartitionCount,
  parsePartitionList,
  partitionOf,
} from "../../src/streams/partitions.js";
import { eventually, fastPipeline, Harness } from "../support/harness.js";

/** Messages spread over three partitions by thread, on one Redis. */
const h = new Harness(fastPipeline({ partitions: 3 }));
afterAll(() => h.close());

/** Twelve threads, whose ids spread over every partition. */
const THREADS = Array.from({ length: 12 }, (_, i) => `thread-${i}`);

describe("partitions", () => {
  it("carries each thread through its own partition, every message once, in order", async () => {
    expect(new Set(THREADS.map((t) => partitionOf(t, 3))).size).toBe(3);
    await h.agents("alice", "bob");
    await h.worker();
    const sent: string[] = [];
    for (let n = 0; n < 5; n++) {
      for (const thread_id of THREADS) {
        sent.push(await h.send({ from: "alice", to: ["bob"], thread_id, body: { n } }));
      }
    }
    const inbox = await eventually(async () => {
      const ids = await h.inbox("bob");
      return ids.length >= sent.length && ids;
    });
    expect([...inbox].sort()).toEqual([...sent].sort());
    // One thread's messages reach the inbox in the order they were sent.
    for (const [t, thread] of THREADS.entries()) {
      const mine = sent.filter((_, i) => i % THREADS.length === t);
      expect(
        inbox.filter((id) => mine.includes(id)),
        thread,
      ).toEqual(mine);
    }
    for (const p of [0, 1, 2]) {
      const threads = THREADS.filter((t) => partitionOf(t, 3) === p).length;
      const validate = h.keys.forPartition(p).stream(h.pipeline.stages.validate.stream);
      expect(await h.redis.xlen(validate), `partition ${p}`).toBe(5 * threads);
    }
    const status = await readStatus(h);
    expect(status.partitions.map((s) => s.partition)).toEqual([0, 1, 2]);
    expect(status.stages.validate.length).toBe(sent.length);
  });

  it("is not ready while a partition with work has no worker, and says which", async () => {
    const lone = new Harness(fastPipeline({ partitions: 3 }));
    try {
      await lone.agents("carol", "dan");
      const thread_id = THREADS.find((t) => partitionOf(t, 3) === 2)!;
      await (await lone.worker()).stop(); // every partition's groups exist
      await lone.worker(undefined, {}, [0, 1]);
      await lone.send({ from: "carol", to: ["dan"], thread_id, body: {} });
      const readiness = await clusterReadiness(lone);
      expect(readiness.ready).toBe(false);
      expect(readiness.problems.join("\n")).toMatch(
        /^partition 2, stage 'validate': 1 entries waiting .*--partitions 2\)$/m,
      );
      expect(await lone.inbox("dan")).toEqual([]);
    } finally {
      await lone.close();
    }
  });

  it("refuses a partition count other than the one the data is laid out in", async () => {
    const other = parsePipeline({ version: 1, partitions: 2 }, "other.yaml");
    await expect(checkPartitionCount(h.redis, h.keys, other)).rejects.toMatchObject({
      code: "CONFIG",
      field: "partitions",
      message: expect.stringMatching(/`partitions: 2`.*laid out in 3; keep `partitions: 3`/),
    });
    await expect(checkPartitionCount(h.redis, h.keys, h.pipeline)).resolves.toBeUndefined();
  });
});

describe("partitions, as input", () => {
  it.each([0, -1, 1.5, "3", 65])("refuses `partitions: %j` in the pipeline file", (value) => {
    expect(() => parsePipeline({ version: 1, partitions: value }, "p.yaml")).toThrow(/partitions/);
  });

  it.each([
    ["0,x", /'x' is not a partition number/],
    ["0,3", /partition 3 does not exist/],
    ["1,1", /named twice/],
    ["", /'' is not a partition number/],
  ])("refuses --partitions %j, saying which exist", (spec, why) => {
    expect(() => parsePartitionList(spec, 3)).toThrow(why);
    expect(() => parsePartitionList(spec, 3)).toThrow(/partitions 0 to 2 exist/);
  });

  it("reads a list in order", () => {
    expect(parsePartitionList("2, 0", 3)).toEqual([0, 2]);
  });
});
