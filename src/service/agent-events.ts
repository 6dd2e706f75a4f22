import type { RedisClient } from "../redis/client.js";
import type { Registration, StatusChange } from "../agents/registry.js";
import type { Ingress } from "../ingress/ingress.js";
import { encodeActivity } from "../protocol/activity.js";
import { ConsoleKeys } from "../redis/console-keys.js";
import type { Keys } from "../redis/keys.js";
import type { Logger } from "../telemetry/log.js";
import { publishOnTopic } from "./topic.js";

/** The topic on which agents' status changes are published. */
export const AGENT_EVENTS_TOPIC = "switchboard.agents";

/**
 * Agents' registrations and status changes: logged, told to web consoles on the activity
 * channel (one PUBLISH), and status changes sent as messages on the `switchboard.agents`
 * topic.
 */
export class AgentEvents {
  readonly #activity: string;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly ingress: Ingress,
    private readonly log: Logger,
  ) {
    this.#activity = new ConsoleKeys(keys).activityChannel();
  }

  async registered(registration: Registration): Promise<void> {
    const { agent, created } = registration;
    this.log.info("agent registered", { agent: agent.name, created });
    await this.#tell([{ agent: agent.name, to: agent.status }]);
  }

  /** Logs each change; sends them only when anyone listens. */
  async publish(changes: readonly StatusChange[]): Promise<void> {
    if (changes.length === 0) return;
    for (const change of changes) this.log.info("agent status", { ...change });
    const { redis, keys, ingress } = this;
    await Promise.all([
      this.#tell(changes),
      publishOnTopic(
        { redis, keys, ingress },
        AGENT_EVENTS_TOPIC,
        changes.map((change) => ({
          type: "switchboard.agent_status",
          subject: `${change.agent} is ${change.to}`,
          body: { ...change },
        })),
      ),
    ]);
  }

  async #tell(changes: readonly Pick<StatusChange, "agent" | "to">[]): Promise<void> {
    const events = changes.map(({ agent, to }) => ({
      kind: "agent" as const,
      name: agent,
      status: to,
    }));
    await this.redis.publish(this.#activity, encodeActivity(events));
  }
}
