import { randomBytes } from "node:crypto";
import type { RedisClient } from "../redis/client.js";
import type { z } from "zod";
import type { AgentView, RegisterInputSchema } from "../protocol/agent.js";
import { parseCapability } from "../protocol/capabilities.js";
import { AgentField } from "../redis/agent-fields.js";
import type { Keys } from "../redis/keys.js";
import { deleteTokenKeys } from "./tokens.js";

// The writes of a registration and an unregistration besides the register script. An
// agent's keys are in three kinds of hash slot: its own ({a:NAME}: record, topics), its
// token's ({k:HASH}) and the directory's ({dir}: capability and topic indexes, the list
// of agents, the version). On a Redis Cluster no transaction spans them, so each slot is
// written apart, in an order that leaves, if the process dies half-way, only what
// unregistering cleans up: the record is written first and deleted last, and it names
// everything else (capabilities, token, retired token, topics). The name's write lock
// keeps registrations, unregistrations, rotations and subscriptions from interleaving.

const capabilityNames = (capabilities: readonly string[]): string[] =>
  capabilities.map((c) => parseCapability(c).name);

/**
 * Before an update's record is written (so while the record still names them): removes
 * the agent from the indexes of the capabilities it drops.
 */
export async function unindexDropped(
  redis: RedisClient,
  keys: Keys,
  previous: AgentView,
  r: z.output<typeof RegisterInputSchema>,
): Promise<void> {
  const kept = new Set(capabilityNames(r.capabilities));
  const dropped = capabilityNames(previous.capabilities).filter((name) => !kept.has(name));
  if (dropped.length === 0) return;
  const batch = redis.multi();
  for (const name of dropped) batch.srem(keys.capability(name), r.name);
  await batch.exec();
}

/**
 * After the register script wrote the record: its webhook secret, its token's key (before
 * the token is handed out), then the directory's indexes.
 */
export async function indexRegistration(
  redis: RedisClient,
  keys: Keys,
  r: z.output<typeof RegisterInputSchema>,
  tokenHash: string,
  now: number,
): Promise<void> {
  if (r.webhook_url !== undefined) {
    // Made once and kept across updates, so receivers need not be told a new one.
    const secret = `whsec_${randomBytes(24).toString("base64url")}`;
    await redis.hsetnx(keys.agent(r.name), AgentField.webhookSecret, secret);
  }
  await redis.set(keys.token(tokenHash), r.name);
  const batch = redis.multi();
  for (const name of capabilityNames(r.capabilities)) batch.sadd(keys.capability(name), r.name);
  await batch.zadd(keys.directory(), now, r.name).incr(keys.directoryVersion()).exec();
}

/**
 * Removes an agent: the directory's indexes first, then its token keys (which the record,
 * still there, names), then its record and topics.
 */
export async function removeAgent(redis: RedisClient, keys: Keys, agent: AgentView): Promise<void> {
  const { name } = agent;
  const [[tokenHash, retired], topics] = await Promise.all([
    redis.hmget(keys.agent(name), AgentField.tokenHash, AgentField.retiredTokenHash),
    redis.smembers(keys.agentTopics(name)),
  ]);
  const batch = redis.multi();
  for (const capability of capabilityNames(agent.capabilities))
    batch.srem(keys.capability(capability), name);
  for (const topic of topics) batch.srem(keys.topic(topic), name);
  await batch.zrem(keys.directory(), name).incr(keys.directoryVersion()).exec();
  await deleteTokenKeys(redis, keys, [tokenHash, retired]);
  await redis.del(keys.agent(name), keys.agentTopics(name));
}
