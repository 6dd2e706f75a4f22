import type { RedisClient } from "../redis/client.js";
import { STAGE_NAMES, type Pipeline, type StageName } from "../config/pipeline.js";
import type { Keys } from "../redis/keys.js";
import { lua, Script } from "../redis/script.js";
import { Field, ORIGINAL_PREFIX } from "../streams/entry.js";
import { toReplayResult, type ReplayResult } from "./results.js";

export interface ReplayParams {
  keys: Keys;
  /** The dead-letter stream. */
  stream: string;
  /** Every stage's stream, by stage name. */
  stages: readonly { name: StageName; stream: string }[];
  /** Dead-letter ids. */
  ids: readonly string[];
  /** How long a replay marker lives, ms. */
  markerTtlMs: number;
  now: number;
}

const PERSIST: StageName = "persist";

/**
 * Replays dead letters once each: appends a dead letter's original fields (`o.*`, the
 * prefix stripped) to the stream of the stage it died in, marks it replayed and deletes
 * it, atomically. One already replayed reports the entry it became.
 *
 * KEYS[1]     the dead-letter stream; KEYS[2..S+1] the stage streams; then a replay
 *             marker per dead letter (all one partition's slot)
 * ARGV[1]     how long markers live, ms; ARGV[2] now, ms; ARGV[3] S, the number of stages
 * ARGV[4..S+3] the stage names, in the order of their streams; then the dead-letter ids
 * returns     per id: { 'replayed', new entry id, now } | { 'already_replayed', entry id,
 *             when } | { 'not_found' } | { 'unreplayable', why }
 */
export const replayScript = new Script<ReplayParams, string[][]>(
  "sbDlqReplay",
  lua`
local prefix = ${ORIGINAL_PREFIX}
local ttl, now, nstages = ARGV[1], ARGV[2], tonumber(ARGV[3])
local streams = {}
for s = 1, nstages do
  streams[ARGV[3 + s]] = KEYS[1 + s]
end
local first_id = 4 + nstages
local out = {}
for i = first_id, #ARGV do
  local id = ARGV[i]
  local marker = KEYS[2 + nstages + i - first_id]
  local seen = redis.call('GET', marker)
  local found = not seen and redis.call('XRANGE', KEYS[1], id, id)[1]
  if seen then
    local entry_id, at = string.match(seen, '^(%S+) (%S+)$')
    out[#out + 1] = { 'already_replayed', entry_id, at }
  elseif not found then
    out[#out + 1] = { 'not_found' }
  else
    local fields, stage, mid, rcpt = {}, nil, nil, nil
    local values = found[2]
    for f = 1, #values, 2 do
      local name = values[f]
      if name == ${Field.stage} then
        stage = values[f + 1]
      elseif name == ${Field.messageId} then
        mid = values[f + 1]
      elseif name == ${Field.recipient} then
        rcpt = values[f + 1]
      elseif string.sub(name, 1, #prefix) == prefix then
        fields[#fields + 1] = string.sub(name, #prefix + 1)
        fields[#fields + 1] = values[f + 1]
      end
    end
    local stream = stage and streams[stage]
    if not stream then
      out[#out + 1] = { 'unreplayable', 'it names no stage of this pipeline (' .. tostring(stage) .. ')' }
    elseif #fields == 0 then
      out[#out + 1] = { 'unreplayable', 'it holds no original entry (' .. prefix .. '* fields)' }
    else
      local entry_id = redis.call('XADD', stream, '*', unpack(fields))
      redis.call('SET', marker, entry_id .. ' ' .. now, 'PX', ttl)
      redis.call('XDEL', KEYS[1], id)
      local persist = streams[${PERSIST}]
      if mid and persist then
        local status = { ${Field.kind}, 'status', ${Field.messageId}, mid, ${Field.status}, 'replayed', ${Field.stage}, stage }
        if rcpt then
          status[#status + 1] = ${Field.recipient}
          status[#status + 1] = rcpt
        end
        redis.call('XADD', persist, '*', unpack(status))
      end
      out[#out + 1] = { 'replayed', entry_id, now }
    end
  end
end
return out
`,
  ({ keys, stream, stages, ids, markerTtlMs, now }) => ({
    keys: [stream, ...stages.map((s) => s.stream), ...ids.map((id) => keys.deadLetterReplayed(id))],
    args: [markerTtlMs, now, stages.length, ...stages.map((s) => s.name), ...ids],
  }),
);

/** Replays dead letters (by dead-letter id) in one script call; results in the order of `ids`. */
export async function replayLetters(
  redis: RedisClient,
  keys: Keys,
  pipeline: Pipeline,
  ids: readonly string[],
  now: number,
): Promise<ReplayResult[]> {
  const replies = await replayScript.run(redis, {
    keys,
    stream: keys.stream(pipeline.deadLetters.stream),
    stages: STAGE_NAMES.map((name) => ({
      name,
      stream: keys.stream(pipeline.stages[name].stream),
    })),
    ids,
    markerTtlMs: pipeline.dedupe.deliveryWindowMs,
    now,
  });
  return replies.map((reply, i) => toReplayResult(ids[i]!, reply));
}
