import { afterAll, describe, expect, it } from "vitest";
import { commitScript } from "../../src/pipeline/commit-script.js";
import { Harness } from "../support/harness.js";

/**
 * The commit script: an entry still pending is acknowledged and forwarded once; one that
 * is not (another consumer finished it) is neither. Pending entries are read for the
 * batch's range at once, or entry by entry when the range holds many others' entries.
 */
const h = new Harness();
afterAll(() => h.close());

async function pendingEntries(stream: string, count: number): Promise<string[]> {
  await h.redis.xgroup("CREATE", stream, "g", "0", "MKSTREAM");
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await h.redis.xadd(stream, "*", "n", String(i)))!);
  await h.redis.xreadgroup("GROUP", "g", "reader", "COUNT", count, "STREAMS", stream, ">");
  return ids;
}

async function commit(stream: string, out: string, ids: readonly string[]): Promise<number> {
  return commitScript.run(h.redis, {
    stream,
    group: "g",
    indexTtlMs: 60_000,
    entries: ids.map((id) => ({ id, outputs: [{ stream: out, fields: ["from", id] }] })),
  });
}

const forwarded = async (out: string): Promise<string[]> =>
  (await h.redis.xrange(out, "-", "+")).map(([, fields]) => fields[1]!);

describe("the commit script", () => {
  it("acknowledges and forwards pending entries once, and skips those no longer pending", async () => {
    const stream = h.keys.stream("commit-a");
    const out = h.keys.stream("commit-a-out");
    const ids = await pendingEntries(stream, 10);
    await h.redis.xack(stream, "g", ids[3]!); // finished by another consumer
    const batch = [ids[0]!, ids[3]!, ids[5]!, ids[5]!, ids[9]!];
    expect(await commit(stream, out, batch)).toBe(3);
    expect(await forwarded(out)).toEqual([ids[0], ids[5], ids[9]]);
    expect(await commit(stream, out, batch)).toBe(0); // a second commit of the same batch
    expect(await forwarded(out)).toHaveLength(3);
    expect(await h.redis.xpending(stream, "g", "-", "+", 100)).toHaveLength(6);
  });

  it("acknowledges entry by entry when the batch's range holds more pending entries than it reads", async () => {
    const stream = h.keys.stream("commit-b");
    const out = h.keys.stream("commit-b-out");
    const ids = await pendingEntries(stream, 200);
    const batch = [ids[0]!, ids[100]!, ids[199]!];
    await h.redis.xack(stream, "g", ids[100]!);
    expect(await commit(stream, out, batch)).toBe(2);
    expect(await forwarded(out)).toEqual([ids[0], ids[199]]);
    expect(await h.redis.xpending(stream, "g", "-", "+", 300)).toHaveLength(197);
  });

  it("forwards an entry in no stream any more (id '') without acknowledging anything", async () => {
    const stream = h.keys.stream("commit-c");
    const out = h.keys.stream("commit-c-out");
    await pendingEntries(stream, 2);
    expect(await commit(stream, out, [""])).toBe(0);
    expect(await forwarded(out)).toEqual([""]);
    expect(await h.redis.xpending(stream, "g", "-", "+", 10)).toHaveLength(2);
  });
});
