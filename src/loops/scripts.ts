import { lua, luaNowMs, Script } from "../redis/script.js";

/** The fields of a tripped breaker's hash, read by the script and by the list alike. */
export const TripField = {
  /** When it tripped (ms, Redis's clock). */
  at: "at",
  /** When it resets by itself (ms). */
  until: "until",
  /** The budget it went over: messages within `window` seconds. */
  messages: "messages",
  window: "window",
  /** The senders counted in the window, space-separated. */
  agents: "agents",
  /** The thread of the message that tripped it. */
  thread: "thread",
} as const;

interface LoopCountParams {
  /** The breaker's window (sorted set), in its slot. */
  window: string;
  /** Its trip (hash), in the same slot. */
  trip: string;
  /** The message counted: "ID SENDER". */
  member: string;
  /** The most messages allowed within the window. */
  messages: number;
  windowMs: number;
  holdMs: number;
  /** The thread of the message, kept with a trip. */
  thread: string;
}

/** Not tripped: the message is counted (`count` in the window, it included). */
export const COUNTED = 0;
/** Tripped before: the message is refused and not counted. */
export const HELD = 1;
/** Tripped by this message: it is refused; `agents` are the senders in the window. */
export const TRIPPED = 2;

/** [COUNTED, count] | [HELD, ms left, until ms] | [TRIPPED, ms left, until ms, senders]. */
export type LoopCountReply =
  | [typeof COUNTED, number]
  | [typeof HELD, number, number]
  | [typeof TRIPPED, number, number, string[]];

/**
 * Counts a message in one breaker's sliding window, and trips the breaker when the window
 * then holds more than the budget from at least two senders: a loop takes two, and one
 * agent sending much on its own is the send rate's business (`limits.sendRate`), so its
 * window keeps only the newest `budget` messages. A tripped breaker refuses (and counts nothing) until its
 * hold ends; tripping empties the window, so counting starts afresh after the hold. By
 * Redis's clock, so every front end agrees. The window expires once it would be empty.
 *
 * KEYS[1]     the window (sorted set: "ID SENDER" by ms); KEYS[2] the trip (hash), one slot
 * ARGV[1]     the member "ID SENDER"; ARGV[2] the most messages in the window;
 * ARGV[3]     the window (ms); ARGV[4] the hold (ms); ARGV[5] the message's thread
 * returns     {0, count} counted; {1, ms left, until} held; {2, hold, until, {senders…}} tripped
 */
export const loopCountScript = new Script<LoopCountParams, LoopCountReply>(
  "sbLoopCount",
  lua`
local limit, windowMs, holdMs = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
${luaNowMs}
local left = redis.call('PTTL', KEYS[2])
if left > 0 then
  return {1, left, tonumber(redis.call('HGET', KEYS[2], ${TripField.until})) or (now + left)}
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - windowMs)
redis.call('ZADD', KEYS[1], now, ARGV[1])
local count = redis.call('ZCARD', KEYS[1])
if count <= limit then
  redis.call('PEXPIRE', KEYS[1], windowMs)
  return {0, count}
end
local senders, seen = {}, {}
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local sender = string.match(member, ' (.+)$')
  if sender and not seen[sender] then
    seen[sender] = true
    senders[#senders + 1] = sender
  end
end
if #senders < 2 then
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, count - limit - 1)
  redis.call('PEXPIRE', KEYS[1], windowMs)
  return {0, limit}
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[2], ${TripField.at}, now, ${TripField.until}, now + holdMs,
  ${TripField.messages}, limit, ${TripField.window}, windowMs / 1000,
  ${TripField.agents}, table.concat(senders, ' '), ${TripField.thread}, ARGV[5])
redis.call('PEXPIRE', KEYS[2], holdMs)
return {2, holdMs, now + holdMs, senders}
`,
  (p) => ({
    keys: [p.window, p.trip],
    args: [p.member, p.messages, p.windowMs, p.holdMs, p.thread],
  }),
);
