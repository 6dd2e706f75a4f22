import { afterEach, describe, expect, it } from "vitest";
import { readMessageRecord } from "../../src/history/record.js";
import { eventually, fastPipeline, Harness } from "../support/harness.js";

/**
 * validate holds every body to `limits.maxBodyDepth`, also one from a producer that writes
 * to the stream without the front end (`switchboard send --file` does).
 */
let h: Harness;
afterEach(async () => h.close());

function nested(levels: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

describe("validate", () => {
  it("rejects a body nested deeper than limits.maxBodyDepth, naming the field", async () => {
    h = new Harness(fastPipeline({ limits: { maxBodyDepth: 8 } }));
    await h.agents("alice", "bob");
    await h.worker();
    const deep = await h.send({ from: "alice", to: ["bob"], body: nested(9) });
    const fine = await h.send({ from: "alice", to: ["bob"], body: nested(8) });
    const status = await eventually(async () => {
      const record = await readMessageRecord(h.redis, h.keys, deep);
      return record?.status?.status === "rejected" ? record.status : undefined;
    });
    expect(status.error).toMatchObject({ code: "INVALID_INPUT", field: "body" });
    expect(status.error?.message).toMatch(/more than 8 levels.*maxBodyDepth/);
    await eventually(async () => (await h.inbox("bob")).length === 1);
    expect(await h.inbox("bob")).toEqual([fine]);
  });
});
