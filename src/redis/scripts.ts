import type { Redis, Result } from "ioredis";

/** Lua: the last-delivered id of a consumer group (XINFO GROUPS is a flat list per group). */
const LAST_DELIVERED_LUA = `
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

/**
 * Lua, used only where several writes must happen as one. Each script is loaded with
 * `defineCommand` (EVALSHA with a NOSCRIPT fallback) and takes its keys count first.
 */
const SCRIPTS = {
  /**
   * Acknowledges entries of a stage stream and appends each one's outputs, atomically.
   * An entry that is no longer pending (another consumer took it over and finished it)
   * gets no outputs: a hop is forwarded once, never twice. An entry id of '' acknowledges
   * nothing and appends its outputs (a retry job's entry, in no stream any more). An
   * output may name a set that gets the new entry's id (a dead letter, indexed by its
   * message id), kept for ARGV[2] ms from the last addition.
   *
   * KEYS[1]     the stream read from; KEYS[2..] streams and sets written to (same hash slot)
   * ARGV[1]     consumer group; ARGV[2] how long index sets live, ms
   * ARGV[3]     number of entries N; then per entry:
   *               entry id (or ''), number of outputs M; then per output:
   *                 index into KEYS of the stream, index into KEYS of a set (0: none),
   *                 number of field/value pairs F, then 2F values
   * returns     the number of entries acknowledged (and forwarded) by this call
   */
  sbCommit: `
local group, index_ttl = ARGV[1], ARGV[2]
local n = tonumber(ARGV[3])
local i = 4
local acked = 0
for _ = 1, n do
  local id = ARGV[i]
  local outputs = tonumber(ARGV[i + 1])
  i = i + 2
  local mine = 1
  if id ~= '' then
    mine = redis.call('XACK', KEYS[1], group, id)
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
return acked
`,

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
  sbInboxAppend: `
local existing = redis.call('GET', KEYS[2])
if existing then
  return { existing, 0 }
end
if redis.call('HEXISTS', KEYS[5], 'webhook_url') == 1 then
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

  /**
   * Registers an agent, or updates it when the caller presents its token: a name is
   * claimed by whoever registers it first, with a token minted by the server. A presented
   * token only updates the agent it belongs to; it never claims a name.
   *
   * KEYS[1]     the agent's record (hash)
   * ARGV[1]     SHA-256 of the token presented ('' for none); ARGV[2] SHA-256 of a new token
   * ARGV[3]     registered_at (kept on update); ARGV[4..] field/value pairs
   * returns     1 created, 2 updated, 0 the name belongs to another token,
   *             -1 a token was presented and the name has no agent (unregistered meanwhile)
   */
  sbRegister: `
local current = redis.call('HGET', KEYS[1], 'token_hash')
if current and current ~= ARGV[1] then
  return 0
end
if not current and ARGV[1] ~= '' then
  return -1
end
redis.call('HDEL', KEYS[1], 'description', 'metadata', 'webhook_url')
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('HSETNX', KEYS[1], 'registered_at', ARGV[3])
if current then
  return 2
end
redis.call('HSET', KEYS[1], 'token_hash', ARGV[2])
return 1
`,

  /**
   * Moves an agent to a new status if it is in the expected one and, for a timeout, has
   * not been seen since the threshold; a contact (last_seen) may be recorded on the way.
   *
   * KEYS[1]     the agent's record (hash)
   * ARGV[1]     the expected status ('' for any); ARGV[2] the new status
   * ARGV[3]     last contact to record, ms ('' for none)
   * ARGV[4]     only if last contact is at or before this, ms ('' for no condition)
   * returns     the previous status if it changed, else false
   */
  sbSetStatus: `
if redis.call('EXISTS', KEYS[1]) == 0 then
  return false
end
local current = redis.call('HGET', KEYS[1], 'status') or ''
if ARGV[1] ~= '' and current ~= ARGV[1] then
  return false
end
if ARGV[4] ~= '' and tonumber(redis.call('HGET', KEYS[1], 'last_seen') or '0') > tonumber(ARGV[4]) then
  return false
end
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[1], 'last_seen', ARGV[3])
end
if current == ARGV[2] then
  return false
end
redis.call('HSET', KEYS[1], 'status', ARGV[2])
return current
`,

  /**
   * Acknowledges inbox entries, counting down the unacknowledged messages once per entry
   * however often it is acknowledged.
   *
   * KEYS[1]     the inbox stream; KEYS[2] the unacked count (one agent's slot)
   * ARGV[1]     the inbox group; ARGV[2..] inbox entry ids
   * returns     per entry: 1 acknowledged now, 0 acknowledged before
   */
  sbInboxAck: `
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

  /**
   * Takes one message out of an inbox for a sender awaiting it as a reply, so that fetch
   * does not hand it out again: acknowledged if it was handed out already, else marked
   * taken (fetch acknowledges taken entries without showing them). Counted down once.
   *
   * KEYS[1]     the inbox stream; KEYS[2] the unacked count; KEYS[3] the taken set
   * ARGV[1]     the inbox group; ARGV[2] the entry id; ARGV[3] lifetime of the taken set, ms
   * returns     1 taken now; 0 acknowledged or taken before
   */
  sbInboxTake: `${LAST_DELIVERED_LUA}
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

  /**
   * Acknowledges, without counting down, entries fetch read that were taken already.
   *
   * KEYS[1]     the inbox stream; KEYS[2] the taken set
   * ARGV[1]     the inbox group; ARGV[2..] entry ids just read
   * returns     the ids among them that were taken
   */
  sbInboxSkipTaken: `
local taken = {}
for i = 2, #ARGV do
  if redis.call('SREM', KEYS[2], ARGV[i]) == 1 then
    redis.call('XACK', KEYS[1], ARGV[1], ARGV[i])
    taken[#taken + 1] = ARGV[i]
  end
end
return taken
`,

  /**
   * An inbox's digest in one call: how many messages wait unacknowledged, and the id of
   * the oldest of them (fetched and pending, else the first not fetched yet).
   *
   * KEYS[1]     the inbox stream; KEYS[2] the unacked count (one agent's slot)
   * ARGV[1]     the inbox group
   * returns     { unacked, oldest entry id or '' }
   */
  sbInboxDigest: `${LAST_DELIVERED_LUA}
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

  /**
   * A webhook endpoint's circuit breaker. Closed: calls go through. After `threshold`
   * consecutive failures it opens for `cooldown`; then one caller gets through as a probe
   * (half-open, for a lease so that a lost probe does not hold it forever): a success
   * closes it, a failure opens it again.
   *
   * KEYS[1]     the breaker (hash)
   * ARGV[1]     'acquire', 'success' or 'failure'; ARGV[2] now, ms; ARGV[3] threshold;
   * ARGV[4]     cool-down, ms; ARGV[5] the probe's lease, ms; ARGV[6] the endpoint as shown
   *             (origin and path)
   * returns     { state, until }: acquire → 'closed' or 'probe' (go ahead), 'open' or
   *             'half_open' (wait until `until`); success/failure → the state now
   */
  sbBreaker: `
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
local now = tonumber(ARGV[2])
redis.call('PEXPIRE', KEYS[1], 86400000)
if ARGV[1] == 'acquire' then
  if state == 'closed' then
    return { 'closed', 0 }
  end
  local until_ms = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
  if now < until_ms then
    return { state, until_ms }
  end
  redis.call('HSET', KEYS[1], 'state', 'half_open', 'until', now + tonumber(ARGV[5]))
  return { 'probe', 0 }
end
if ARGV[1] == 'success' then
  redis.call('HSET', KEYS[1], 'state', 'closed', 'failures', 0, 'until', 0)
  return { 'closed', 0 }
end
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
redis.call('HSET', KEYS[1], 'endpoint', ARGV[6], 'last_failure', now)
if state == 'half_open' or (state == 'closed' and failures >= tonumber(ARGV[3])) then
  local until_ms = now + tonumber(ARGV[4])
  redis.call('HSET', KEYS[1], 'state', 'open', 'until', until_ms, 'opened_at', now)
  return { 'open', until_ms }
end
return { state, 0 }
`,

  /**
   * Sets or clears an agent's role, only if the agent is registered: a role never lands
   * on a record that unregistering deleted, where a later registrant of the name would
   * inherit it.
   *
   * KEYS[1]     the agent's record (hash)
   * ARGV[1]     the role ('' to clear it)
   * returns     1 if the agent exists, 0 if not
   */
  sbSetRole: `
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
if ARGV[1] == '' then
  redis.call('HDEL', KEYS[1], 'role')
else
  redis.call('HSET', KEYS[1], 'role', ARGV[1])
end
return 1
`,

  /**
   * Gives an agent a new token: swaps the token hash on its record and the token → name
   * key together, so the old token stops working the moment the new one starts to. Only
   * if the record still holds the hash read before (else another rotation came first).
   *
   * KEYS[1]     the agent's record (hash); KEYS[2] the old token's key; KEYS[3] the new one's
   * ARGV[1]     SHA-256 of the old token, as read; ARGV[2] SHA-256 of the new token
   * ARGV[3]     the agent's name
   * returns     1 rotated; 0 no such agent; -1 its token changed meanwhile (read it again)
   */
  sbRotateToken: `
local current = redis.call('HGET', KEYS[1], 'token_hash')
if not current then
  return 0
end
if current ~= ARGV[1] then
  return -1
end
redis.call('HSET', KEYS[1], 'token_hash', ARGV[2])
redis.call('DEL', KEYS[2])
redis.call('SET', KEYS[3], ARGV[3])
return 1
`,

  /**
   * Releases a lock taken with `SET key owner NX PX ttl`, only if this owner still holds it
   * (it may have expired and been taken by another).
   *
   * KEYS[1]     the lock
   * ARGV[1]     the owner's id
   * returns     1 released, 0 not held by this owner
   */
  sbUnlock: `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`,

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
  sbDlqReplay: `
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
      if name == 'stage' then
        stage = values[f + 1]
      elseif name == 'mid' then
        mid = values[f + 1]
      elseif name == 'rcpt' then
        rcpt = values[f + 1]
      elseif string.sub(name, 1, 2) == 'o.' then
        fields[#fields + 1] = string.sub(name, 3)
        fields[#fields + 1] = values[f + 1]
      end
    end
    local stream = stage and streams[stage]
    if not stream then
      out[#out + 1] = { 'unreplayable', 'it names no stage of this pipeline (' .. tostring(stage) .. ')' }
    elseif #fields == 0 then
      out[#out + 1] = { 'unreplayable', 'it holds no original entry (o.* fields)' }
    else
      local entry_id = redis.call('XADD', stream, '*', unpack(fields))
      redis.call('SET', marker, entry_id .. ' ' .. now, 'PX', ttl)
      redis.call('XDEL', KEYS[1], id)
      if mid and streams['persist'] then
        local status = { 't', 'status', 'mid', mid, 's', 'replayed', 'stage', stage }
        if rcpt then
          status[#status + 1] = 'rcpt'
          status[#status + 1] = rcpt
        end
        redis.call('XADD', streams['persist'], '*', unpack(status))
      end
      out[#out + 1] = { 'replayed', entry_id, now }
    end
  end
end
return out
`,

  /**
   * Takes tokens from a sender's token bucket, refilled continuously at `rate` per second
   * up to `burst`, by Redis's clock (so every front end agrees). A refusal changes nothing.
   * The bucket expires once it would be full again: an idle sender costs no memory.
   *
   * KEYS[1]     the bucket (hash: tokens, at), in the sender's slot
   * ARGV[1]     rate, tokens per second; ARGV[2] burst, the most tokens held;
   * ARGV[3]     the tokens this send takes
   * returns     0 taken; else the milliseconds until enough tokens are back (at least 1)
   */
  sbTakeTokens: `
local rate, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local held = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(held[1]) or burst, tonumber(held[2]) or now
if now > at then
  tokens = math.min(burst, tokens + (now - at) * rate / 1000)
  at = now
end
if tokens < cost then
  return math.max(1, math.ceil((cost - tokens) * 1000 / rate))
end
tokens = tokens - cost
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', at)
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) * 1000 / rate) + 1000)
return 0
`,
} as const;

type Arg = string | Buffer | number;

declare module "ioredis" {
  interface RedisCommander<Context> {
    sbCommit(numKeys: number, ...args: Arg[]): Result<number, Context>;
    sbInboxAck(numKeys: number, ...args: Arg[]): Result<number[], Context>;
    sbInboxTake(numKeys: number, ...args: Arg[]): Result<number, Context>;
    sbInboxSkipTaken(numKeys: number, ...args: Arg[]): Result<string[], Context>;
    sbInboxDigest(numKeys: number, ...args: Arg[]): Result<[number, string], Context>;
    sbRegister(numKeys: number, ...args: Arg[]): Result<number, Context>;
    sbSetStatus(numKeys: number, ...args: Arg[]): Result<string | null, Context>;
    sbInboxAppend(numKeys: number, ...args: Arg[]): Result<[string, number], Context>;
    sbBreaker(numKeys: number, ...args: Arg[]): Result<[string, number], Context>;
    sbSetRole(numKeys: number, ...args: Arg[]): Result<number, Context>;
    sbDlqReplay(numKeys: number, ...args: Arg[]): Result<string[][], Context>;
    sbRotateToken(numKeys: number, ...args: Arg[]): Result<number, Context>;
    sbUnlock(numKeys: number, ...args: Arg[]): Result<number, Context>;
    sbTakeTokens(numKeys: number, ...args: Arg[]): Result<number, Context>;
  }
}

/** Makes the scripts callable on a connection (idempotent). */
export function defineScripts(redis: Redis): Redis {
  for (const [name, lua] of Object.entries(SCRIPTS)) {
    redis.defineCommand(name, { lua });
  }
  return redis;
}
