import slotOf from "cluster-key-slot";

/** Hash slots of a Redis Cluster. */
const SLOTS = 16_384;

/**
 * Where partition `p`'s hash slot must fall, as a share [from, to) of the slots: partitions
 * 0, 1, 2 take the thirds, 3, 4, 5 the other halves of those thirds, and so on, so that on
 * a cluster whose masters split the slots evenly (what `redis-cli --cluster create` does),
 * 3 or 6 masters each get the same number of 3, 6, 12… partitions, and none gets two
 * while another has none.
 */
function shareOf(p: number): [number, number] {
  const third = p % 3;
  const round = Math.floor(p / 3);
  // The van der Corput sequence halves the third ever finer: 0, 1/2, 1/4, 3/4, 1/8, …
  let from = 0;
  let width = 1;
  for (let r = round, bit = 0.5; r > 0; r >>= 1, bit /= 2) if (r & 1) from += bit;
  for (let r = round; r >= 1; r >>= 1) width /= 2;
  if (round === 0) width = 0.5; // the first half of each third; round 1 takes the second
  return [(third + from) / 3, (third + from + width) / 3];
}

const tags = new Map<number, string>();

/**
 * The hash tag of partition `p`'s keys: `p<N>` with the first suffix (`p0.1`, `p0.2`, …)
 * that puts its slot in the partition's share of the slots. The same for any partition
 * count, so keys never depend on it.
 */
export function partitionTag(p: number): string {
  let tag = tags.get(p);
  if (tag !== undefined) return tag;
  const [from, to] = shareOf(p);
  for (let k = 0; ; k++) {
    const candidate = k === 0 ? `p${p}` : `p${p}.${k}`;
    const at = slotOf(candidate) / SLOTS;
    if (at >= from && at < to) {
      tag = candidate;
      break;
    }
  }
  tags.set(p, tag);
  return tag;
}
