import type { AgentRole, AgentStatus } from "../protocol/agent.js";
import { AgentField as A } from "../redis/agent-fields.js";
import { lua, Script } from "../redis/script.js";

export interface RegisterParams {
  /** The agent's record. */
  record: string;
  /** SHA-256 of the token presented; undefined for none (a claim of the name). */
  presentedHash: string | undefined;
  /** SHA-256 of the token a new agent gets. */
  newHash: string;
  /** When the agent registers, ms: its `registered_at` unless it has one. */
  now: number;
  /** Field/value pairs the record gets. */
  fields: readonly (string | number)[];
}

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
export const registerScript = new Script<RegisterParams, -1 | 0 | 1 | 2>(
  "sbRegister",
  lua`
local current = redis.call('HGET', KEYS[1], ${A.tokenHash})
if current and current ~= ARGV[1] then
  return 0
end
if not current and ARGV[1] ~= '' then
  return -1
end
redis.call('HDEL', KEYS[1], ${A.description}, ${A.metadata}, ${A.webhookUrl})
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('HSETNX', KEYS[1], ${A.registeredAt}, ARGV[3])
if current then
  return 2
end
redis.call('HSET', KEYS[1], ${A.tokenHash}, ARGV[2])
return 1
`,
  (p) => ({
    keys: [p.record],
    args: [p.presentedHash ?? "", p.newHash, p.now, ...p.fields],
  }),
);

export interface SetStatusParams {
  /** The agent's record. */
  record: string;
  /** Only if the agent is in this status; undefined for any. */
  from?: AgentStatus | undefined;
  to: AgentStatus;
  /** A contact to record as `last_seen`, ms. */
  seenAt?: number | undefined;
  /** Only if the last contact is at or before this, ms (a timeout). */
  quietSince?: number | undefined;
}

/**
 * Moves an agent to a new status if it is in the expected one and, for a timeout, has
 * not been seen since the threshold; a contact (last_seen) may be recorded on the way.
 *
 * KEYS[1]     the agent's record (hash)
 * ARGV[1]     the expected status ('' for any); ARGV[2] the new status
 * ARGV[3]     last contact to record, ms ('' for none)
 * ARGV[4]     only if last contact is at or before this, ms ('' for no condition)
 * returns     the previous status ('' for none) if it changed, else nil
 */
export const setStatusScript = new Script<SetStatusParams, AgentStatus | "" | null>(
  "sbSetStatus",
  lua`
if redis.call('EXISTS', KEYS[1]) == 0 then
  return false
end
local current = redis.call('HGET', KEYS[1], ${A.status}) or ''
if ARGV[1] ~= '' and current ~= ARGV[1] then
  return false
end
if ARGV[4] ~= '' and tonumber(redis.call('HGET', KEYS[1], ${A.lastSeen}) or '0') > tonumber(ARGV[4]) then
  return false
end
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[1], ${A.lastSeen}, ARGV[3])
end
if current == ARGV[2] then
  return false
end
redis.call('HSET', KEYS[1], ${A.status}, ARGV[2])
return current
`,
  (p) => ({
    keys: [p.record],
    args: [p.from ?? "", p.to, p.seenAt ?? "", p.quietSince ?? ""],
  }),
);

/**
 * Sets or clears an agent's role, only if the agent is registered: a role never lands
 * on a record that unregistering deleted, where a later registrant of the name would
 * inherit it.
 *
 * KEYS[1]     the agent's record (hash)
 * ARGV[1]     the role ('' to clear it)
 * returns     1 if the agent exists, 0 if not
 */
export const setRoleScript = new Script<{ record: string; role: AgentRole | undefined }, 0 | 1>(
  "sbSetRole",
  lua`
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
if ARGV[1] == '' then
  redis.call('HDEL', KEYS[1], ${A.role})
else
  redis.call('HSET', KEYS[1], ${A.role}, ARGV[1])
end
return 1
`,
  (p) => ({ keys: [p.record], args: [p.role ?? ""] }),
);

export interface RotateTokenParams {
  /** The agent's record. */
  record: string;
  /** SHA-256 of the old token, as read. */
  oldHash: string;
  /** SHA-256 of the new token. */
  newHash: string;
}

/**
 * Gives an agent a new token on its record, the truth of which token is the agent's:
 * from this moment the old token stops authenticating and the new one may start (see
 * `tokenOwner`). Only if the record still holds the hash read before (else another
 * rotation came first). The old hash is kept as retired, so that its token → name key,
 * deleted after this script, is found and deleted even by another process.
 *
 * KEYS[1]     the agent's record (hash)
 * ARGV[1]     SHA-256 of the old token, as read; ARGV[2] SHA-256 of the new token
 * returns     1 rotated; 0 no such agent; -1 its token changed meanwhile (read it again)
 */
export const rotateTokenScript = new Script<RotateTokenParams, -1 | 0 | 1>(
  "sbRotateToken",
  lua`
local current = redis.call('HGET', KEYS[1], ${A.tokenHash})
if not current then
  return 0
end
if current ~= ARGV[1] then
  return -1
end
redis.call('HSET', KEYS[1], ${A.tokenHash}, ARGV[2], ${A.retiredTokenHash}, ARGV[1])
return 1
`,
  (p) => ({ keys: [p.record], args: [p.oldHash, p.newHash] }),
);
