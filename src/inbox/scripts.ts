import { INBOX_GROUP } from "../streams/groups.js";
import { AgentField } from "../redis/agent-fields.js";
import type { Keys } from "../redis/keys.js";
import { lua, Script } from "../redis/script.js";
import type { FieldList } from "../streams/entry.js";

/**
 * The inbox's scripts. Each takes the agent and the key builder and names its keys itself:
 * they are all in the agent's slot (`{a:NAME}`), so each is a single-slot script.
 */
interface OfAgent {
  keys: Keys;
  agent: string;
}

/** Lua: the last-delivered id of a consumer group (XINFO GROUPS is a flat list per group). */
const LAST_DELIVERED = lua`
local function last_delivered(stream, group_name)
  for _, group in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
    local info = {}
    for i = 1, #group, 2 do
      info[group[i]] = group[i + 1]
    end
    if info['name'] == group_name then
      return info['last-delivered-id']
    end
  end
  return nil
end
`;

export interface AppendParams extends OfAgent {
  messageId: string;
  /** The message this one answers, if it is a reply. */
  replyTo: string | undefined;
  /** How long the delivery marker (and a reply pointer) lives, ms. */
  markerTtlMs: number;
  /** The most unacknowledged messages the inbox holds. */
  quota: number;
  /** The inbox entry. */
  fields: FieldList;
}

/**
 * Appends a message to an inbox once: a marker remembers the inbox entry id, so a
 * redelivered entry returns the first id instead of appending again. Refuses when the
 * inbox holds its quota of unacknowledged messages. Notes the first reply to a message,
 * for a sender awaiting it, and announces the new mail. An agent with a webhook gets
 * nothing appended: the caller pushes the message (and sets the marker when it is in).
 *
 * KEYS[1]     the inbox stream; KEYS[2] the delivery marker; KEYS[3] the unacked count;
 * KEYS[4]     the reply pointer (unused unless ARGV[3] is set); KEYS[5] the agent's
 *             record — all one agent's slot
 * ARGV[1]     how long markers live, ms; ARGV[2] the quota
 * ARGV[3]     the message id ('' unless it is a reply); ARGV[4] the mail channel;
 * ARGV[5]     the announcement; ARGV[6..] field/value pairs of the inbox entry
 * returns     { inbox entry id, 1 } appended now; { id, 0 } there already (id 'webhook'
 *             when pushed); { '', -1 } full; { '', 2 } to push to the agent's webhook
 */
export const inboxAppendScript = new Script<AppendParams, [string, -1 | 0 | 1 | 2]>(
  "sbInboxAppend",
  lua`
local existing = redis.call('GET', KEYS[2])
if existing then
  return { existing, 0 }
end
if redis.call('HEXISTS', KEYS[5], ${AgentField.webhookUrl}) == 1 then
  return { '', 2 }
end
if tonumber(redis.call('GET', KEYS[3]) or '0') >= tonumber(ARGV[2]) then
  return { '', -1 }
end
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 6))
redis.call('SET', KEYS[2], id, 'PX', ARGV[1])
redis.call('INCR', KEYS[3])
if ARGV[3] ~= '' then
  redis.call('SET', KEYS[4], ARGV[3], 'NX', 'PX', ARGV[1])
end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return { id, 1 }
`,
  ({ keys, agent, messageId, replyTo, markerTtlMs, quota, fields }) => ({
    keys: [
      keys.inbox(agent),
      keys.delivered(agent, messageId),
      keys.unacked(agent),
      keys.replyTo(agent, replyTo ?? messageId),
      keys.agent(agent),
    ],
    args: [
      markerTtlMs,
      quota,
      replyTo === undefined ? "" : messageId,
      keys.mailChannel(),
      // What MailAnnouncements splits again: the agent, and the message replied to.
      replyTo === undefined ? agent : `${agent} ${replyTo}`,
      ...fields,
    ],
  }),
);

/**
 * Acknowledges inbox entries, counting down the unacknowledged messages once per entry
 * however often it is acknowledged.
 *
 * KEYS[1]     the inbox stream; KEYS[2] the unacked count (one agent's slot)
 * ARGV[1]     the inbox group; ARGV[2..] inbox entry ids
 * returns     per entry: 1 acknowledged now, 0 acknowledged before
 */
export const inboxAckScript = new Script<OfAgent & { entryIds: readonly string[] }, (0 | 1)[]>(
  "sbInboxAck",
  lua`
local out = {}
for i = 2, #ARGV do
  local n = redis.call('XACK', KEYS[1], ARGV[1], ARGV[i])
  if n == 1 and tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then
    redis.call('DECR', KEYS[2])
  end
  out[#out + 1] = n
end
return out
`,
  ({ keys, agent, entryIds }) => ({
    keys: [keys.inbox(agent), keys.unacked(agent)],
    args: [INBOX_GROUP, ...entryIds],
  }),
);

export interface TakeParams extends OfAgent {
  entryId: string;
  /** How long the set of taken entries lives, ms. */
  takenTtlMs: number;
}

/**
 * Takes one message out of an inbox for a sender awaiting it as a reply, so that fetch
 * does not hand it out again: acknowledged if it was handed out already, else marked
 * taken (fetch acknowledges taken entries without showing them). Counted down once.
 *
 * KEYS[1]     the inbox stream; KEYS[2] the unacked count; KEYS[3] the taken set
 * ARGV[1]     the inbox group; ARGV[2] the entry id; ARGV[3] lifetime of the taken set, ms
 * returns     1 taken now; 0 acknowledged or taken before
 */
export const inboxTakeScript = new Script<TakeParams, 0 | 1>(
  "sbInboxTake",
  lua`${LAST_DELIVERED}
local function older_or_same(a, b)
  local am, as = string.match(a, '(%d+)-(%d+)')
  local bm, bs = string.match(b, '(%d+)-(%d+)')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am < bm or (am == bm and as <= bs)
end
local function count_down()
  if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then
    redis.call('DECR', KEYS[2])
  end
end
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  count_down()
  return 1
end
local delivered = last_delivered(KEYS[1], ARGV[1])
if delivered and older_or_same(ARGV[2], delivered) then
  return 0
end
if redis.call('SADD', KEYS[3], ARGV[2]) == 0 then
  return 0
end
redis.call('PEXPIRE', KEYS[3], ARGV[3])
count_down()
return 1
`,
  ({ keys, agent, entryId, takenTtlMs }) => ({
    keys: [keys.inbox(agent), keys.unacked(agent), keys.taken(agent)],
    args: [INBOX_GROUP, entryId, takenTtlMs],
  }),
);

/**
 * Acknowledges, without counting down, entries fetch read that were taken already.
 *
 * KEYS[1]     the inbox stream; KEYS[2] the taken set
 * ARGV[1]     the inbox group; ARGV[2..] entry ids just read
 * returns     the ids among them that were taken
 */
export const inboxSkipTakenScript = new Script<OfAgent & { entryIds: readonly string[] }, string[]>(
  "sbInboxSkipTaken",
  lua`
local taken = {}
for i = 2, #ARGV do
  if redis.call('SREM', KEYS[2], ARGV[i]) == 1 then
    redis.call('XACK', KEYS[1], ARGV[1], ARGV[i])
    taken[#taken + 1] = ARGV[i]
  end
end
return taken
`,
  ({ keys, agent, entryIds }) => ({
    keys: [keys.inbox(agent), keys.taken(agent)],
    args: [INBOX_GROUP, ...entryIds],
  }),
);

/**
 * An inbox's digest in one call: how many messages wait unacknowledged, and the id of
 * the oldest of them (fetched and pending, else the first not fetched yet).
 *
 * KEYS[1]     the inbox stream; KEYS[2] the unacked count (one agent's slot)
 * ARGV[1]     the inbox group
 * returns     { unacked, oldest entry id or '' }
 */
export const inboxDigestScript = new Script<OfAgent, [unacked: number, oldest: string]>(
  "sbInboxDigest",
  lua`${LAST_DELIVERED}
local unacked = tonumber(redis.call('GET', KEYS[2]) or '0')
if unacked == 0 or redis.call('EXISTS', KEYS[1]) == 0 then
  return { unacked, '' }
end
local pending = redis.call('XPENDING', KEYS[1], ARGV[1])
if pending[2] then
  return { unacked, pending[2] }
end
local first = redis.call('XRANGE', KEYS[1], '(' .. (last_delivered(KEYS[1], ARGV[1]) or '0-0'), '+', 'COUNT', 1)
if first[1] then
  return { unacked, first[1][1] }
end
return { unacked, '' }
`,
  ({ keys, agent }) => ({
    keys: [keys.inbox(agent), keys.unacked(agent)],
    args: [INBOX_GROUP],
  }),
);
