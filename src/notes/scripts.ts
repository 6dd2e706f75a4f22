import type { Keys } from "../redis/keys.js";
import { lua, Script } from "../redis/script.js";

/**
 * The fields of a note's hash: the current version's, and per kept version N its content,
 * author and time (`c:N`, `b:N`, `t:N`).
 */
export const NoteField = {
  version: "version",
  updatedBy: "updated_by",
  updatedAt: "updated_at",
  content: "c:",
  author: "b:",
  time: "t:",
} as const;

/** Lua: the note's current version (KEYS[1]), 0 when there is no such note. */
const CURRENT_VERSION = lua`
local function current_version()
  return tonumber(redis.call('HGET', KEYS[1], ${NoteField.version}) or '0')
end
`;

/** Lua: Redis's clock in ms, so every front end stamps notes by one clock. */
const NOW_MS = lua`
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

export interface PutParams {
  keys: Keys;
  key: string;
  author: string;
  content: string;
  /** Write only if the note is at this version (0: only if it does not exist). */
  expectedVersion: number | undefined;
  /** Expire the note this long after the write; undefined keeps its expiry. */
  ttlMs: number | undefined;
  /** How many versions to keep. */
  keep: number;
}

/** `[version, at, pttl]` written; `[0, current version, its author]` refused. */
export type PutReply = [number, number, number] | [0, number, string];

/**
 * Writes a note's next version if the caller's expected version (if any) is the current
 * one: the compare-and-set of put_note. Drops the version that falls out of the kept
 * history, and sets the expiry of the whole note when asked.
 *
 * KEYS[1]     the note (hash)
 * ARGV[1]     the expected version ('' for any); ARGV[2] the author; ARGV[3] the content;
 * ARGV[4]     expire after this many ms ('' keeps the expiry); ARGV[5] versions kept
 * returns     { version, time ms, pttl (-1 none) } written, or { 0, current, its author }
 */
export const notePutScript = new Script<PutParams, PutReply>(
  "sbNotePut",
  lua`${NOW_MS}${CURRENT_VERSION}
local current = current_version()
if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= current then
  return { 0, current, redis.call('HGET', KEYS[1], ${NoteField.updatedBy}) or '' }
end
local v = current + 1
local now = now_ms()
redis.call('HSET', KEYS[1], ${NoteField.version}, v, ${NoteField.updatedBy}, ARGV[2],
  ${NoteField.updatedAt}, now, ${NoteField.content} .. v, ARGV[3], ${NoteField.author} .. v,
  ARGV[2], ${NoteField.time} .. v, now)
local old = v - tonumber(ARGV[5])
if old >= 1 then
  redis.call('HDEL', KEYS[1], ${NoteField.content} .. old, ${NoteField.author} .. old,
    ${NoteField.time} .. old)
end
if ARGV[4] ~= '' then
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
return { v, now, redis.call('PTTL', KEYS[1]) }
`,
  ({ keys, key, author, content, expectedVersion, ttlMs, keep }) => ({
    keys: [keys.note(key)],
    args: [expectedVersion ?? "", author, content, ttlMs ?? "", keep],
  }),
);

/** `[version, content, author, at, pttl]`; `[]` no such note; `[0, current]` version not kept. */
export type ReadReply = [] | [0, number] | [number, string, string, string, number];

/**
 * Reads one version of a note (the current one by default), in one step, so the version,
 * its content and its author always belong together.
 *
 * KEYS[1]     the note (hash)
 * ARGV[1]     the version ('' for the current one)
 * returns     { version, content, author, time ms, pttl }; {} no note; { 0, current } that
 *             version is not kept (or not written yet)
 */
export const noteReadScript = new Script<{ keys: Keys; key: string; version?: number }, ReadReply>(
  "sbNoteRead",
  lua`${CURRENT_VERSION}
local current = current_version()
-- ARGV[1] is '' for the current version: tonumber('') is nil.
local v = tonumber(ARGV[1]) or current
if current == 0 then
  return {}
end
local got = redis.call('HMGET', KEYS[1], ${NoteField.content} .. v, ${NoteField.author} .. v,
  ${NoteField.time} .. v)
if not got[1] then
  return { 0, current }
end
return { v, got[1], got[2], got[3], redis.call('PTTL', KEYS[1]) }
`,
  ({ keys, key, version }) => ({ keys: [keys.note(key)], args: [version ?? ""] }),
);

/** `[current, pttl, v, author, at, bytes, v, author, at, bytes, …]` newest first; `[]` no note. */
export type HistoryReply = (number | string)[];

/**
 * The kept versions of a note, newest first: version, author, time and content size.
 *
 * KEYS[1]     the note (hash)
 * ARGV[1]     versions kept (how far back to look)
 * returns     { current, pttl, then per version: v, author, time ms, bytes }; {} no note
 */
export const noteHistoryScript = new Script<
  { keys: Keys; key: string; keep: number },
  HistoryReply
>(
  "sbNoteHistory",
  lua`${CURRENT_VERSION}
local current = current_version()
if current == 0 then
  return {}
end
local out = { current, redis.call('PTTL', KEYS[1]) }
for v = current, math.max(1, current - tonumber(ARGV[1]) + 1), -1 do
  local got = redis.call('HMGET', KEYS[1], ${NoteField.author} .. v, ${NoteField.time} .. v)
  if got[1] then
    out[#out + 1] = v
    out[#out + 1] = got[1]
    out[#out + 1] = got[2]
    out[#out + 1] = redis.call('HSTRLEN', KEYS[1], ${NoteField.content} .. v)
  end
end
return out
`,
  ({ keys, key, keep }) => ({ keys: [keys.note(key)], args: [keep] }),
);

/**
 * Removes directory entries of notes that are gone, each only if its score is still the
 * one the caller read: a note written again meanwhile has a newer score and stays listed.
 *
 * KEYS[1]     the notes directory (zset, in `{dir}`)
 * ARGV        pairs: note key, the score read
 * returns     how many were removed
 */
export const notesPruneScript = new Script<
  { keys: Keys; stale: readonly (readonly [string, string])[] },
  number
>(
  "sbNotesPrune",
  lua`
local removed = 0
for i = 1, #ARGV, 2 do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    removed = removed + redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return removed
`,
  ({ keys, stale }) => ({ keys: [keys.notes()], args: stale.flat() }),
);
