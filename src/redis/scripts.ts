import type { Redis, Result } from "ioredis";

/**
 * Lua, used only where several writes must happen as one. Each script is loaded with
 * `defineCommand` (EVALSHA with a NOSCRIPT fallback) and takes its keys count first.
 */
const SCRIPTS = {
  /**
   * Acknowledges entries of a stage stream and appends each one's outputs, atomically.
   * An entry that is no longer pending (another consumer took it over and finished it)
   * gets no outputs: a hop is forwarded once, never twice.
   *
   * KEYS[1]     the stream read from; KEYS[2..] streams written to (same hash slot)
   * ARGV[1]     consumer group
   * ARGV[2]     number of entries N; then per entry:
   *               entry id, number of outputs M; then per output:
   *                 index into KEYS, number of field/value pairs F, then 2F values
   * returns     the number of entries acknowledged (and forwarded) by this call
   */
  sbCommit: `
local group = ARGV[1]
local n = tonumber(ARGV[2])
local i = 3
local acked = 0
for _ = 1, n do
  local id = ARGV[i]
  local outputs = tonumber(ARGV[i + 1])
  i = i + 2
  local mine = redis.call('XACK', KEYS[1], group, id)
  for _ = 1, outputs do
    local key = KEYS[tonumber(ARGV[i])]
    local npairs = tonumber(ARGV[i + 1])
    i = i + 2
    if mine == 1 then
      redis.call('XADD', key, '*', unpack(ARGV, i, i + 2 * npairs - 1))
    end
    i = i + 2 * npairs
  end
  acked = acked + mine
end
return acked
`,

  /**
   * Appends a message to an inbox once: a marker remembers the inbox entry id, so a
   * redelivered entry returns the first id instead of appending again.
   *
   * KEYS[1]     the inbox stream; KEYS[2] the delivery marker (same hash slot)
   * ARGV[1]     how long the marker lives, ms; ARGV[2..] field/value pairs of the inbox entry
   * returns     { inbox entry id, 1 if appended now or 0 if it was there already }
   */
  sbInboxAppend: `
local existing = redis.call('GET', KEYS[2])
if existing then
  return { existing, 0 }
end
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))
redis.call('SET', KEYS[2], id, 'PX', ARGV[1])
return { id, 1 }
`,
} as const;

type Arg = string | Buffer | number;

declare module "ioredis" {
  interface RedisCommander<Context> {
    sbCommit(numKeys: number, ...args: Arg[]): Result<number, Context>;
    sbInboxAppend(numKeys: number, ...args: Arg[]): Result<[string, number], Context>;
  }
}

/** Makes the scripts callable on a connection (idempotent). */
export function defineScripts(redis: Redis): Redis {
  for (const [name, lua] of Object.entries(SCRIPTS)) {
    redis.defineCommand(name, { lua });
  }
  return redis;
}
