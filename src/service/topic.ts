import type { RedisClient } from "../redis/client.js";
import type { Ingress } from "../ingress/ingress.js";
import { SYSTEM_AGENT } from "../protocol/agent.js";
import { composeEnvelope, type SendRequest } from "../protocol/compose.js";
import type { Keys } from "../redis/keys.js";

/** One message Switchboard itself sends on a topic. */
export type TopicMessage = Pick<SendRequest, "type" | "subject" | "body">;

/**
 * Sends messages from Switchboard on a topic, through the pipeline like any message, so
 * subscribers get them in their inbox (and learn of them from the digest on their next
 * call). Nothing is sent when no agent subscribes to the topic.
 */
export async function publishOnTopic(
  deps: { redis: RedisClient; keys: Keys; ingress: Ingress },
  topic: string,
  messages: readonly TopicMessage[],
): Promise<void> {
  if (messages.length === 0) return;
  const listeners = await deps.redis.scard(deps.keys.topic(topic));
  if (listeners === 0) return;
  await deps.ingress.acceptMany(
    messages.map((message) => composeEnvelope({ from: SYSTEM_AGENT, topic, ...message })),
  );
}
