import { sendOne } from "../redis/batch.js";
import type { RedisClient } from "../redis/client.js";
import type { Pipeline } from "../config/pipeline.js";
import type { Keys } from "../redis/keys.js";

/** The consumer group of every inbox stream (its one consumer is the agent). */
export const INBOX_GROUP = "inbox";

/** Creates a consumer group reading from the start of its stream, if it does not exist. */
export async function ensureGroup(
  redis: RedisClient,
  stream: string,
  group: string,
): Promise<void> {
  try {
    await sendOne(redis, (batch) => batch.xgroup("CREATE", stream, group, "0", "MKSTREAM"));
  } catch (error) {
    if (!String((error as Error).message).startsWith("BUSYGROUP")) throw error;
  }
}

/** Deletes a consumer of a group (`XGROUP DELCONSUMER`), on the master that holds the stream. */
export async function deleteConsumer(
  redis: RedisClient,
  stream: string,
  group: string,
  consumer: string,
): Promise<void> {
  await sendOne(redis, (batch) => batch.xgroup("DELCONSUMER", stream, group, consumer));
}

/** Creates every stage's group, so entries forwarded before a stage's worker starts wait for it. */
export async function ensureGroups(
  redis: RedisClient,
  keys: Keys,
  pipeline: Pipeline,
): Promise<void> {
  for (const stage of Object.values(pipeline.stages)) {
    await ensureGroup(redis, keys.stream(stage.stream), stage.group);
  }
}
