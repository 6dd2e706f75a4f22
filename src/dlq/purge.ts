import { sendCommands } from "../redis/batch.js";
import type { RedisClient } from "../redis/client.js";
import { Field, parseEntries, text } from "../streams/entry.js";
import type { Keys } from "../redis/keys.js";
import type { PurgeOutcome } from "./results.js";

/** Purging dead letters keeps the index by message id (`Keys.deadLettersOf`) true. */

/** The message id of each dead letter that is in the store (`stream`). */
export async function messageIdsOf(
  redis: RedisClient,
  stream: string,
  ids: readonly string[],
): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const replies = await sendCommands(redis, (batch) => {
    for (const id of ids) batch.xrangeBuffer(stream, id, id);
  });
  const out = new Map<string, string>();
  for (const [error, reply] of replies) {
    if (error) throw error;
    const [entry] = parseEntries(reply);
    const messageId = entry === undefined ? undefined : text(entry, Field.messageId);
    if (messageId !== undefined) out.set(entry!.id, messageId);
  }
  return out;
}

/** Deletes dead letters from `stream` and takes each out of its message's index. */
export async function purgeLetters(
  redis: RedisClient,
  keys: Keys,
  stream: string,
  letters: readonly { id: string; message_id?: string | undefined }[],
): Promise<Map<string, PurgeOutcome>> {
  if (letters.length === 0) return new Map();
  const replies = await sendCommands(redis, (batch) => {
    for (const { id, message_id } of letters) {
      batch.xdel(stream, id);
      if (message_id !== undefined) batch.srem(keys.deadLettersOf(message_id), id);
    }
  });
  let at = 0;
  const out = new Map<string, PurgeOutcome>();
  for (const { id, message_id } of letters) {
    const [error, deleted] = replies[at] ?? [new Error("no reply")];
    if (error) throw error;
    out.set(id, deleted === 1 ? "purged" : "not_found");
    at += message_id === undefined ? 1 : 2;
  }
  return out;
}
