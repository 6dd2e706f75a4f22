import type { RedisClient } from "../redis/client.js";
import type { StatusChange } from "../agents/registry.js";
import type { Ingress } from "../ingress/ingress.js";
import type { Keys } from "../redis/keys.js";
import type { Logger } from "../telemetry/log.js";
import { publishOnTopic } from "./topic.js";

/** The topic on which agents' status changes are published. */
export const AGENT_EVENTS_TOPIC = "switchboard.agents";

/** Agents' status changes, logged, and sent as messages on the `switchboard.agents` topic. */
export class AgentEvents {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly ingress: Ingress,
    private readonly log: Logger,
  ) {}

  /** Logs each change; sends them only when anyone listens. */
  async publish(changes: readonly StatusChange[]): Promise<void> {
    if (changes.length === 0) return;
    for (const change of changes) this.log.info("agent status", { ...change });
    const { redis, keys, ingress } = this;
    await publishOnTopic(
      { redis, keys, ingress },
      AGENT_EVENTS_TOPIC,
      changes.map((change) => ({
        type: "switchboard.agent_status",
        subject: `${change.agent} is ${change.to}`,
        body: { ...change },
      })),
    );
  }
}
