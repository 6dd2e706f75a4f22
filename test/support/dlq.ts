import type { Envelope } from "../../src/protocol/envelope.js";
import type { RedisClient } from "../../src/redis/client.js";

/**
 * Dead letters and error-history entries written in the documented formats (see
 * src/streams/entry.ts `Field`), as the pipeline and the retry queue write them.
 */

export interface SeededDeadLetter {
  /** The entry id's time, ms; it must grow from one call to the next. */
  at: number;
  stage?: string;
  mid?: string;
  code?: string;
  message?: string;
  rcpt?: string;
  from?: string;
  attempts?: number;
  /** The original stage entry; when not given, `{t: "rcpt", mid, rcpt}` at deliver, else `{t: "msg", mid}`. */
  original?: Record<string, string>;
  /** Fields to leave out, to imitate older or malformed entries. */
  omit?: string[];
}

/** The fields of a dead letter in the full format (`o.*` carrying the original entry). */
export function deadLetterFields(d: SeededDeadLetter): string[] {
  const code = d.code ?? "WEBHOOK_TIMEOUT";
  const message = d.message ?? `${code} at ${d.at}`;
  const stage = d.stage ?? "deliver";
  const mid = d.mid ?? "m";
  const original =
    d.original ??
    (stage === "deliver" && d.rcpt !== undefined
      ? { t: "rcpt", mid, rcpt: d.rcpt }
      : { t: "msg", mid });
  const fields: Record<string, string> = {
    mid,
    stage,
    src: `${d.at - 1}-0`,
    n: String(d.attempts ?? 3),
    why: JSON.stringify({ code, message }),
    code,
    cat: code.startsWith("WEBHOOK") ? "delivery" : "internal",
    first: String(d.at - 1000),
    last: String(d.at),
    hist: JSON.stringify([{ at: new Date(d.at).toISOString(), code, message }]),
    trace: "4bf92f3577b34da6a3ce929d0e0e4736",
  };
  if (d.rcpt !== undefined) fields.rcpt = d.rcpt;
  if (d.from !== undefined) fields.from = d.from;
  for (const name of d.omit ?? []) delete fields[name];
  for (const [name, value] of Object.entries(original)) fields[`o.${name}`] = value;
  return Object.entries(fields).flat();
}

/** Appends dead letters with ids at their `at` times; returns the ids. */
export async function seedDeadLetters(
  redis: RedisClient,
  stream: string,
  letters: readonly SeededDeadLetter[],
): Promise<string[]> {
  const batch = redis.pipeline();
  for (const d of letters) batch.xadd(stream, `${d.at}-0`, ...deadLetterFields(d));
  const replies = (await batch.exec()) ?? [];
  return replies.map(([error, id]) => {
    if (error) throw error;
    return id as string;
  });
}

/**
 * A message that died in validate (POISON) carrying its whole envelope, as a producer's
 * entry may: replaying it delivers the message. Returns the dead letter's id.
 */
export async function seedReplayable(
  redis: RedisClient,
  stream: string,
  envelope: Envelope,
): Promise<string> {
  const [id] = await seedDeadLetters(redis, stream, [
    {
      at: Date.now(),
      stage: "validate",
      code: "POISON",
      mid: envelope.id,
      from: envelope.from,
      original: { t: "msg", mid: envelope.id, enc: "json", env: JSON.stringify(envelope) },
    },
  ]);
  return id!;
}

export interface SeededError {
  at: number;
  code: string;
  cat: string;
  sev?: string;
  stage?: string;
  agent?: string;
  endpoint?: string;
  mid?: string;
  msg?: string;
}

/** Appends error-history entries with ids at their `at` times (which must grow). */
export async function seedErrors(
  redis: RedisClient,
  stream: string,
  errors: readonly SeededError[],
): Promise<void> {
  const batch = redis.pipeline();
  errors.forEach((e, i) => {
    const { at, ...fields } = { sev: "warning", stage: "deliver", msg: "failed", ...e };
    batch.xadd(stream, `${at}-${i}`, ...Object.entries(fields).flat());
  });
  for (const [error] of (await batch.exec()) ?? []) if (error) throw error;
}
