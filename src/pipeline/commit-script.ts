import { lua, Script, type ScriptArg } from "../redis/script.js";
import { streamIdBounds } from "../redis/stream-ids.js";
import type { FieldList } from "../streams/entry.js";

/** An entry for another stream, as the commit script appends it. */
export interface Append {
  stream: string;
  /** A set that gets the new entry's id (a dead letter, indexed by its message id). */
  index?: string | undefined;
  fields: FieldList;
}

export interface CommitParams {
  /** The stream the entries were read from, and its group. */
  stream: string;
  group: string;
  /** How long index sets live from the last addition, ms. */
  indexTtlMs: number;
  /**
   * The partition's owner lease and the value this owner holds it by (`ordering: thread`):
   * when the lease holds another value, nothing is written (a fenced-out owner).
   */
  fence?: { lease: string; value: string } | undefined;
  entries: readonly {
    /** The entry to acknowledge; '' for none (a retry job's entry, in no stream any more). */
    id: string;
    outputs: readonly Append[];
  }[];
}

/**
 * Acknowledges entries of a stage stream and appends each one's outputs, atomically.
 * An entry that is no longer pending (another consumer took it over and finished it)
 * gets no outputs: a hop is forwarded once, never twice. An entry id of '' acknowledges
 * nothing and appends its outputs (a retry job's entry, in no stream any more). An
 * output may name a set that gets the new entry's id (a dead letter, indexed by its
 * message id), kept for ARGV[2] ms from the last addition.
 *
 * Which entries are still pending is read with one XPENDING over the batch's range of
 * ids, and all of them are acknowledged by one XACK: two commands a batch, not one a
 * message. A range holding more pending entries than that read asks for (other
 * consumers' entries between those of a claimed batch) is acknowledged entry by entry.
 *
 * KEYS[1]     the stream read from; KEYS[2..] streams, sets and the lease (same hash slot)
 * ARGV[1]     consumer group; ARGV[2] how long index sets live, ms
 * ARGV[3]     index into KEYS of the owner lease (0: no fence); ARGV[4] the value held
 * ARGV[5]     the lowest and ARGV[6] the highest entry id to acknowledge ('' for none)
 * ARGV[7]     number of entries N; then per entry:
 *               entry id (or ''), number of outputs M; then per output:
 *                 index into KEYS of the stream, index into KEYS of a set (0: none),
 *                 number of field/value pairs F, then 2F values
 * returns     the number of entries acknowledged (and forwarded) by this call; -1 when
 *             fenced out (the lease is another owner's), having written nothing
 */
export const commitScript = new Script<CommitParams, number>(
  "sbCommit",
  lua`
local group, index_ttl = ARGV[1], ARGV[2]
local fence = tonumber(ARGV[3])
if fence > 0 and redis.call('GET', KEYS[fence]) ~= ARGV[4] then
  return -1
end
local n = tonumber(ARGV[7])
local pending, exact = {}, false
if ARGV[5] ~= '' then
  local limit = 2 * n + 64
  local listed = redis.call('XPENDING', KEYS[1], group, ARGV[5], ARGV[6], limit)
  exact = #listed >= limit
  if not exact then
    for _, entry in ipairs(listed) do pending[entry[1]] = true end
  end
end
local i = 8
local acked, acks = 0, {}
for _ = 1, n do
  local id = ARGV[i]
  local outputs = tonumber(ARGV[i + 1])
  i = i + 2
  local mine = 1
  if id ~= '' then
    if exact then
      mine = redis.call('XACK', KEYS[1], group, id)
    elseif pending[id] then
      pending[id] = nil -- an id twice in a batch is acknowledged and forwarded once
      acks[#acks + 1] = id
    else
      mine = 0
    end
    acked = acked + mine
  end
  for _ = 1, outputs do
    local key = KEYS[tonumber(ARGV[i])]
    local set = tonumber(ARGV[i + 1])
    local npairs = tonumber(ARGV[i + 2])
    i = i + 3
    if mine == 1 then
      local added = redis.call('XADD', key, '*', unpack(ARGV, i, i + 2 * npairs - 1))
      if set > 0 then
        redis.call('SADD', KEYS[set], added)
        redis.call('PEXPIRE', KEYS[set], index_ttl)
      end
    end
    i = i + 2 * npairs
  end
end
for at = 1, #acks, 1000 do
  redis.call('XACK', KEYS[1], group, unpack(acks, at, math.min(at + 999, #acks)))
end
return acked
`,
  function encodeCommit({ stream, group, indexTtlMs, fence, entries }) {
    const keys: ScriptArg[] = [stream];
    const keyIndex = new Map<string, number>();
    const indexOf = (key: string): number => {
      let index = keyIndex.get(key);
      if (index === undefined) {
        keys.push(key);
        index = keys.length; // KEYS are 1-based
        keyIndex.set(key, index);
      }
      return index;
    };
    const args: ScriptArg[] = [group, indexTtlMs];
    if (fence === undefined) args.push(0, "");
    else args.push(indexOf(fence.lease), fence.value);
    const ids = entries.map(({ id }) => id).filter((id) => id !== "");
    const bounds = streamIdBounds(ids);
    args.push(bounds?.first ?? "", bounds?.last ?? "", entries.length);
    for (const { id, outputs } of entries) {
      args.push(id, outputs.length);
      for (const { stream: to, index, fields } of outputs) {
        const set = index === undefined ? 0 : indexOf(index);
        args.push(indexOf(to), set, fields.length / 2, ...fields);
      }
    }
    return { keys, args };
  },
);
