import { afterEach, describe, expect, it } from "vitest";
import { Notes } from "../../src/notes/notes.js";
import { notesPruneScript } from "../../src/notes/scripts.js";
import { Harness } from "../support/harness.js";

/**
 * The notes directory against a real Redis: it is written in a call of its own after the
 * note (another slot on a cluster), so listing must hold it loosely.
 */
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function notes(): { h: Harness; notes: Notes } {
  h = new Harness();
  return { h, notes: new Notes(h.redis, h.keys, 1024) };
}

describe("the notes directory", () => {
  it("leaves out and prunes entries whose note is gone", async () => {
    const { h, notes: store } = notes();
    await store.put("ada", { key: "plans/a", content: "a" });
    await store.put("ada", { key: "plans/b", content: "b" });
    // As if the note expired, or a process died between the directory and the note.
    await h.redis.del(h.keys.note("plans/a"));
    await h.redis.zadd(h.keys.notes(), 1, "plans/ghost");
    const listed = await store.list("plans/");
    expect(listed.notes.map((n) => n.key)).toEqual(["plans/b"]);
    expect(await h.redis.zrange(h.keys.notes(), 0, -1)).toEqual(["plans/b"]);
  });

  it("keeps the entry of a note written again after listing read it", async () => {
    const { h, notes: store } = notes();
    await h.redis.zadd(h.keys.notes(), 1, "plans/again");
    // Listing read score 1 and found no note; meanwhile the note is written (score now).
    await store.put("bob", { key: "plans/again", content: "back" });
    const removed = await notesPruneScript.run(h.redis, {
      keys: h.keys,
      stale: [["plans/again", "1"]],
    });
    expect(removed).toBe(0);
    expect((await store.list()).notes).toEqual([
      expect.objectContaining({ key: "plans/again", version: 1, updated_by: "bob" }),
    ]);
  });

  it("lists by prefix, in key order", async () => {
    const { notes: store } = notes();
    for (const key of ["b/2", "a/1", "b/1", "c"]) await store.put("ada", { key, content: key });
    expect((await store.list("b/")).notes.map((n) => n.key)).toEqual(["b/1", "b/2"]);
    expect((await store.list()).notes.map((n) => n.key)).toEqual(["a/1", "b/1", "b/2", "c"]);
  });
});
