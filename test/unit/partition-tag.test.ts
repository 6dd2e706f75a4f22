import slotOf from "cluster-key-slot";
import { describe, expect, it } from "vitest";
import { Keys } from "../../src/redis/keys.js";
import { partitionTag } from "../../src/redis/partition-tag.js";

/** Which of `masters` even slot ranges (as `redis-cli --cluster create` splits) holds a tag. */
const masterOf = (tag: string, masters: number) => Math.floor((slotOf(tag) * masters) / 16_384);

/** How many partitions of `count` each of `masters` holds. */
function spread(count: number, masters: number): number[] {
  const held = new Array<number>(masters).fill(0);
  for (let p = 0; p < count; p++) held[masterOf(partitionTag(p), masters)]! += 1;
  return held;
}

describe("partition hash tags", () => {
  it.each([
    [3, 3, [1, 1, 1]],
    [6, 3, [2, 2, 2]],
    [12, 3, [4, 4, 4]],
    [6, 6, [1, 1, 1, 1, 1, 1]],
    [12, 6, [2, 2, 2, 2, 2, 2]],
  ])("spread %i partitions evenly over %i masters", (count, masters, expected) => {
    expect(spread(count, masters)).toEqual(expected);
  });

  it("are distinct, stable, and the tag of every key of a partition", () => {
    const tags = Array.from({ length: 64 }, (_, p) => partitionTag(p));
    expect(new Set(tags).size).toBe(64);
    expect(tags.every((tag, p) => tag === `p${p}` || tag.startsWith(`p${p}.`))).toBe(true);
    const keys = new Keys("sb", 4);
    for (const key of [keys.stream("validate"), keys.owner(), keys.queuePrefix(), keys.errors()])
      expect(key).toContain(`{${partitionTag(4)}}`);
  });
});
