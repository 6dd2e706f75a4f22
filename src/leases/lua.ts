import { lua } from "../redis/script.js";

/**
 * Lua shared by the lease scripts. `overlaps` is the walk of `protocol/resource-glob.ts`
 * (read its comment for the rules), answering only true or false: the two are held to
 * each other by test/integration/leases-store.test.ts.
 */
export const LEASE_LUA = lua`
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function segmentsOverlap(a, b)
  local la, lb = #a, #b
  local memo = {}
  local function walk(i, j)
    local k = i * (lb + 2) + j
    local known = memo[k]
    if known ~= nil then return known end
    local ca = i <= la and string.sub(a, i, i) or nil
    local cb = j <= lb and string.sub(b, j, j) or nil
    local r
    if ca == nil and cb == nil then r = true
    elseif ca == '*' then r = walk(i + 1, j) or (cb ~= nil and walk(i, j + 1))
    elseif cb == '*' then r = walk(i, j + 1) or (ca ~= nil and walk(i + 1, j))
    elseif ca == nil or cb == nil then r = false
    else r = (ca == '?' or cb == '?' or ca == cb) and walk(i + 1, j + 1) end
    memo[k] = r
    return r
  end
  return walk(1, 1)
end

local function splitPath(s)
  local t = {}
  for segment in string.gmatch(s, '[^/]+') do t[#t + 1] = segment end
  return t
end

local function overlaps(a, b)
  local p, q = splitPath(a), splitPath(b)
  local memo = {}
  local function walk(i, j)
    local k = i * (#q + 2) + j
    local known = memo[k]
    if known ~= nil then return known end
    local sp, sq = p[i], q[j]
    local r
    if sp == nil and sq == nil then r = true
    elseif sp == '**' then r = walk(i + 1, j) or (sq ~= nil and walk(i, j + 1))
    elseif sq == '**' then r = walk(i, j + 1) or (sp ~= nil and walk(i + 1, j))
    elseif sp == nil or sq == nil then r = false
    else r = segmentsOverlap(sp, sq) and walk(i + 1, j + 1) end
    memo[k] = r
    return r
  end
  return walk(1, 1)
end

-- The unexpired leases in KEYS[1] but 'except' (exclusive ones only, unless 'any') holding
-- something that overlaps one of 'resources': one {lease, resource, held} per resource.
local function overlapping(now, resources, any, except)
  local found = {}
  local all = redis.call('HGETALL', KEYS[1])
  for n = 1, #all, 2 do
    if all[n] ~= except then
      local lease = cjson.decode(all[n + 1])
      if lease.expires_at > now and (any or lease.exclusive) then
        for _, r in ipairs(resources) do
          for _, h in ipairs(lease.resources) do
            if overlaps(r, h) then
              found[#found + 1] = {lease = lease, resource = r, held = h}
              break
            end
          end
        end
      end
    end
  end
  return found
end

-- Who holds what a lease held, now: one {holder, lease_id, expires_at} per lease.
local function successors(lease, now)
  local seen, out = {}, {}
  for _, f in ipairs(overlapping(now, lease.resources, true, lease.id)) do
    if not seen[f.lease.id] then
      seen[f.lease.id] = true
      out[#out + 1] = {holder = f.lease.holder, lease_id = f.lease.id, expires_at = f.lease.expires_at}
    end
  end
  return out
end

-- Moves a lease from KEYS[1] to the ended leases (KEYS[2], indexed by time in KEYS[3]).
local function finish(lease, how, at)
  lease.ended = how
  lease.ended_at = at
  redis.call('HDEL', KEYS[1], lease.id)
  redis.call('HSET', KEYS[2], lease.id, cjson.encode(lease))
  redis.call('ZADD', KEYS[3], at, lease.id)
end
`;
