import { afterAll, describe, expect, it } from "vitest";
import { Ownership, type OwnedPart } from "../../src/app/ownership.js";
import { Committer } from "../../src/pipeline/commit.js";
import type { StreamEntry } from "../../src/streams/entry.js";
import { Lease } from "../../src/streams/lease.js";
import { silentLogger } from "../../src/telemetry/log.js";
import { eventually, fastPipeline, Harness } from "../support/harness.js";

/** Partition leases, their fencing token, and how owners share partitions. */
const h = new Harness(
  fastPipeline({ partitions: 4, ordering: "thread", ownership: { leaseMs: 600 } }),
);
afterAll(() => h.close());

describe("a partition lease", () => {
  it("goes to one worker at a time, with a higher epoch for each new owner", async () => {
    const keys = h.keys.forPartition(1);
    const a = await Lease.acquire(h.redis, keys, "a", 600);
    expect(a?.value).toMatch(/^\d+ a$/);
    expect(await Lease.acquire(h.redis, keys, "b", 600)).toBeUndefined();
    expect((await Lease.acquire(h.redis, keys, "a", 600))?.value).toBe(a!.value);
    await a!.release();
    const b = await Lease.acquire(h.redis, keys, "b", 600);
    expect(Number(b!.value.split(" ")[0])).toBeGreaterThan(Number(a!.value.split(" ")[0]));
    expect(await a!.renew()).toBe(false);
    expect(a!.valid()).toBe(false);
    expect(await b!.renew()).toBe(true);
  });

  it("fences out a commit by an owner whose lease another took", async () => {
    const keys = h.keys.forPartition(2);
    const stage = h.pipeline.stages.route;
    const old = (await Lease.acquire(h.redis, keys, "old", 600))!;
    await old.release();
    const current = (await Lease.acquire(h.redis, keys, "new", 600))!;
    const entry: StreamEntry = { id: "1-0", fields: new Map([["mid", Buffer.from("m1")]]) };
    const outcome = {
      kind: "forward" as const,
      outputs: [{ to: "deliver" as const, fields: ["t", "x"] }],
    };
    const stale = new Committer(h.redis, keys, h.pipeline, stage, () => old.fence);
    await expect(stale.append(entry, outcome)).rejects.toThrow(
      /lease was taken over by another; nothing was committed/,
    );
    const deliver = keys.stream(h.pipeline.stages.deliver.stream);
    expect(await h.redis.xlen(deliver)).toBe(0);
    const owner = new Committer(h.redis, keys, h.pipeline, stage, () => current.fence);
    await owner.append(entry, outcome);
    expect(await h.redis.xlen(deliver)).toBe(1);
  });
});

describe("ownership", () => {
  function owner(name: string, running: Map<number, string>): Ownership {
    return new Ownership({
      redis: h.redis,
      keys: h.keys,
      pipeline: h.pipeline,
      partitions: [0, 1, 2, 3],
      name,
      part: (partition): OwnedPart => ({
        start: () => {
          expect(running.get(partition), `partition ${partition} runs twice`).toBeUndefined();
          running.set(partition, name);
          return Promise.resolve();
        },
        stop: () => {
          running.delete(partition);
          return Promise.resolve();
        },
      }),
      log: silentLogger,
    });
  }

  it("shares the partitions among the workers, and gives a stopped one's to the rest", async () => {
    for (const p of [0, 1, 2, 3]) await h.redis.del(h.keys.forPartition(p).owner());
    const running = new Map<number, string>();
    const a = owner("a", running);
    const b = owner("b", running);
    await a.start();
    expect(a.owned).toEqual([0, 1, 2, 3]);
    await b.start();
    await eventually(() => Promise.resolve(a.owned.length === 2 && b.owned.length === 2));
    expect(new Set(running.values())).toEqual(new Set(["a", "b"]));
    await b.stop();
    await eventually(() => Promise.resolve(a.owned.length === 4));
    expect([...running.values()]).toEqual(["a", "a", "a", "a"]);
    await a.stop();
    expect(running.size).toBe(0);
  });
});
