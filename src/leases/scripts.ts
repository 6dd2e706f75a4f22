import { lua, Script } from "../redis/script.js";
import { LEASE_LUA } from "./lua.js";

/**
 * The lease scripts. Every lease of a team lives in one hash under the `{leases}` hash tag,
 * so each script sees all of them at once, on one node of a Redis Cluster. Time is Redis's
 * (`TIME`), so every front end agrees on what has expired: an expired lease is gone to every
 * script, whether or not the reaper has moved it to the ended leases yet.
 */

/** The keys every lease script takes, in this order. */
export interface LeaseKeys {
  /** KEYS[1]: lease id → lease (JSON). */
  live: string;
  /** KEYS[2]: lease id → ended lease (JSON). */
  ended: string;
  /** KEYS[3]: ended lease ids by when they ended (ms). */
  endedAt: string;
  /** KEYS[4]: the fencing counter. */
  fence: string;
}

const keysOf = (k: LeaseKeys) => [k.live, k.ended, k.endedAt, k.fence];

interface AcquireParams {
  keys: LeaseKeys;
  id: string;
  holder: string;
  ttlMs: number;
  exclusive: boolean;
  reason: string;
  resources: readonly string[];
}

/**
 * Grants a lease on every resource, or on none: refused when an unexpired lease holds an
 * overlapping resource and either one is exclusive. A refused requester is noted as a waiter
 * on each lease in the way, to be told when it ends. A grant takes the next fencing token.
 *
 * KEYS        live, ended, ended-at, fence ({@link LeaseKeys})
 * ARGV[1]     lease id; ARGV[2] holder; ARGV[3] ttl, ms; ARGV[4] '1' exclusive, '0' shared;
 * ARGV[5]     reason ('' for none); ARGV[6..] the resources
 * returns     {'granted', lease JSON} or {'conflict', JSON array of conflicts}
 */
export const acquireResourceLeaseScript = new Script<AcquireParams, [string, string]>(
  "sbLeaseAcquire",
  lua`${LEASE_LUA}
local id, holder, ttl, exclusive, reason = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4] == '1', ARGV[5]
local resources = {}
for n = 6, #ARGV do resources[#resources + 1] = ARGV[n] end
local now = nowMs()
local found = overlapping(now, resources, exclusive, nil)
if #found > 0 then
  local conflicts, blocking = {}, {}
  for _, f in ipairs(found) do
    conflicts[#conflicts + 1] = {resource = f.resource, held = f.held, holder = f.lease.holder,
      lease_id = f.lease.id, expires_at = f.lease.expires_at, reason = f.lease.reason}
    blocking[f.lease.id] = f.lease
  end
  for leaseId, lease in pairs(blocking) do
    local waiting = ' ' .. lease.waiters .. ' '
    if lease.holder ~= holder and not string.find(waiting, ' ' .. holder .. ' ', 1, true) then
      lease.waiters = lease.waiters == '' and holder or (lease.waiters .. ' ' .. holder)
      redis.call('HSET', KEYS[1], leaseId, cjson.encode(lease))
    end
  end
  return {'conflict', cjson.encode(conflicts)}
end
local lease = {id = id, holder = holder, resources = resources, exclusive = exclusive,
  reason = reason, fencing_token = redis.call('INCR', KEYS[4]), granted_at = now,
  expires_at = now + ttl, waiters = ''}
local encoded = cjson.encode(lease)
redis.call('HSET', KEYS[1], id, encoded)
return {'granted', encoded}
`,
  (p) => ({
    keys: keysOf(p.keys),
    args: [p.id, p.holder, p.ttlMs, p.exclusive ? "1" : "0", p.reason, ...p.resources],
  }),
);

export type LeaseOp = "renew" | "release" | "break";

interface ChangeParams {
  keys: LeaseKeys;
  op: LeaseOp;
  id: string;
  /** The agent asking: it must hold the lease, but to break it (admins; checked by the caller). */
  caller: string;
  /** renew: the new lifetime from now. */
  ttlMs?: number;
  /** break: why, for the holder. */
  reason?: string;
}

/**
 * Renews, releases or breaks a lease. Only its holder renews or releases it; an expired or
 * ended lease is reported with whoever holds its resources now; a released or broken lease
 * moves to the ended leases.
 *
 * KEYS        live, ended, ended-at, fence ({@link LeaseKeys})
 * ARGV[1]     'renew', 'release' or 'break'; ARGV[2] lease id; ARGV[3] the caller;
 * ARGV[4]     renew: ttl, ms; ARGV[5] break: the reason
 * returns     {'ok', lease JSON} | {'forbidden', lease JSON} | {'unknown'} |
 *             {'expired' or 'ended', lease JSON, JSON array of successors}
 */
export const changeResourceLeaseScript = new Script<ChangeParams, string[]>(
  "sbLeaseChange",
  lua`${LEASE_LUA}
local op, id, caller = ARGV[1], ARGV[2], ARGV[3]
local now = nowMs()
local raw = redis.call('HGET', KEYS[1], id)
local state = 'live'
if not raw then
  raw = redis.call('HGET', KEYS[2], id)
  if not raw then return {'unknown'} end
  state = 'ended'
end
local lease = cjson.decode(raw)
if op ~= 'break' and lease.holder ~= caller then return {'forbidden', raw} end
if state == 'live' and lease.expires_at <= now then state = 'expired' end
if state ~= 'live' then return {state, raw, cjson.encode(successors(lease, now))} end
if op == 'renew' then
  lease.expires_at = now + tonumber(ARGV[4])
  local encoded = cjson.encode(lease)
  redis.call('HSET', KEYS[1], id, encoded)
  return {'ok', encoded}
end
lease.ended_by = caller
if op == 'break' then
  lease.break_reason = ARGV[5]
  finish(lease, 'broken', now)
else
  finish(lease, 'released', now)
end
return {'ok', cjson.encode(lease)}
`,
  (p) => ({
    keys: keysOf(p.keys),
    args: [p.op, p.id, p.caller, p.ttlMs ?? 0, p.reason ?? ""],
  }),
);

/**
 * Moves every expired lease to the ended leases (so its holder and waiters can be told),
 * and forgets ended leases older than the retention.
 *
 * KEYS        live, ended, ended-at, fence ({@link LeaseKeys})
 * ARGV[1]     how long ended leases are kept, ms
 * returns     the leases that expired since the last reap, as JSON
 */
export const reapResourceLeasesScript = new Script<
  { keys: LeaseKeys; retentionMs: number },
  string[]
>(
  "sbLeaseReap",
  lua`${LEASE_LUA}
local now = nowMs()
local reaped = {}
local all = redis.call('HGETALL', KEYS[1])
for n = 1, #all, 2 do
  local lease = cjson.decode(all[n + 1])
  if lease.expires_at <= now then
    finish(lease, 'expired', lease.expires_at)
    reaped[#reaped + 1] = cjson.encode(lease)
  end
end
local old = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[1]), 'LIMIT', 0, 1000)
if #old > 0 then
  redis.call('HDEL', KEYS[2], unpack(old))
  redis.call('ZREM', KEYS[3], unpack(old))
end
return reaped
`,
  (p) => ({ keys: keysOf(p.keys), args: [p.retentionMs] }),
);
