import type { RedisClient } from "../../redis/client.js";
import { Registry } from "../../agents/registry.js";
import type { Pipeline } from "../../config/pipeline.js";
import type { AgentStatus, AgentView } from "../../protocol/agent.js";
import { hasCapability, parseCapability } from "../../protocol/capabilities.js";
import type { Keys } from "../../redis/keys.js";

/** How often routing asks whether the directory changed. */
const RECHECK_MS = 250;

/**
 * What routing needs to know, read from Redis. The agent list is cached and reloaded
 * only when the directory version moves (registration, capabilities, status), checked at
 * most every 250 ms. A named recipient missing from the cache is looked up in Redis
 * before it is declared unknown, so a stale cache never refuses a message; broadcast and
 * capability routing may see a change up to 250 ms late.
 */
export class Directory {
  readonly #redis: RedisClient;
  readonly #keys: Keys;
  readonly #registry: Registry;
  #version: string | null | undefined;
  #agents = new Map<string, AgentView>();
  #checkedAt = -Infinity;

  constructor(redis: RedisClient, keys: Keys, pipeline: Pipeline) {
    this.#redis = redis;
    this.#keys = keys;
    this.#registry = new Registry(redis, keys, pipeline);
  }

  /** Reloads the agent list if it changed since the last call. */
  async refresh(now = Date.now()): Promise<void> {
    if (now - this.#checkedAt < RECHECK_MS) return;
    this.#checkedAt = now;
    const version = await this.#redis.get(this.#keys.directoryVersion());
    if (version === this.#version) return;
    const agents = await this.#registry.list();
    this.#agents = new Map(agents.map((a) => [a.name, a]));
    this.#version = version;
  }

  all(): AgentView[] {
    return [...this.#agents.values()];
  }

  withCapability(want: string, status?: AgentStatus): AgentView[] {
    return this.all().filter(
      (a) => hasCapability(a.capabilities, want) && (status === undefined || a.status === status),
    );
  }

  /** Of these names, the ones not registered (checked in Redis when not cached). */
  async unknown(names: readonly string[]): Promise<string[]> {
    const uncached = names.filter((name) => !this.#agents.has(name));
    return uncached.length === 0 ? [] : this.#registry.unknown(uncached);
  }

  subscribers(topic: string): Promise<string[]> {
    return this.#registry.subscribers(topic);
  }

  /** Unacknowledged messages waiting for each agent. */
  async backlogs(agents: readonly string[]): Promise<number[]> {
    const counts = await Promise.all(agents.map((a) => this.#redis.get(this.#keys.unacked(a))));
    return counts.map((c) => Number(c ?? 0));
  }

  /** A turn number for round-robin among equally busy agents of a capability. */
  nextTurn(capability: string): Promise<number> {
    return this.#redis.incr(this.#keys.roundRobin(parseCapability(capability).name));
  }
}
