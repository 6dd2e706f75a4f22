import { sendCommands } from "../redis/batch.js";
import type { RedisClient } from "../redis/client.js";
import type { z } from "zod";
import type { Pipeline } from "../config/pipeline.js";
import {
  agentNotFound,
  type AgentRole,
  type AgentStatus,
  type AgentView,
  type RegisterInput,
  RegisterInputSchema,
  SYSTEM_AGENT,
} from "../protocol/agent.js";
import { hasCapability } from "../protocol/capabilities.js";
import { parseInput } from "../protocol/compose.js";
import { SwitchboardError } from "../protocol/errors.js";
import { checkTokenFormat, mintToken } from "../protocol/token.js";
import { ensureGroup, INBOX_GROUP } from "../streams/groups.js";
import { AgentField } from "../redis/agent-fields.js";
import type { Keys } from "../redis/keys.js";
import { withLock } from "../redis/lock.js";
import { literalPrivateHost } from "../webhook/address.js";
import { registrationFields, toView } from "./record.js";
import { registerScript, setRoleScript, setStatusScript } from "./scripts.js";
import {
  checkOwner,
  hashToken,
  rotateToken,
  tokenOwner,
  TokenNames,
  unknownToken,
} from "./tokens.js";
import { indexRegistration, removeAgent, unindexDropped } from "./writes.js";

/** The consumer group every inbox is read through, and its one consumer. */

export interface Registration {
  agent: AgentView;
  /** The token that makes a session or process this agent. */
  token: string;
  created: boolean;
  /** The secret webhook requests are signed with, for an agent with a webhook. */
  webhook_secret?: string | undefined;
}

export interface StatusChange {
  agent: string;
  from: AgentStatus | "";
  to: AgentStatus;
}

/**
 * Agents in Redis: a record per agent, a directory scored by last contact, capability and
 * topic indexes, and token → name. A name is claimed by whoever registers it first; its
 * token lets a new session or process be the same agent.
 */
export class Registry {
  /** Names of the tokens this process authenticated; the agent's record is still read every time. */
  readonly #tokenNames = new TokenNames();

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly pipeline: Pipeline,
  ) {}

  /**
   * Claims a name with a token minted here, or updates a registration. A presented token
   * only proves its bearer is the name's owner: it must be well formed and belong to this
   * very name (UNAUTHENTICATED for a token that belongs to nobody, never adopted as the
   * new agent's token).
   */
  async register(
    input: RegisterInput,
    presentedToken?: string,
    now = Date.now(),
  ): Promise<Registration> {
    const r = parseInput(RegisterInputSchema, input);
    if (r.webhook_url !== undefined) this.checkWebhook(r.webhook_url);
    // A malformed token is refused before any Redis call, the lock's included.
    if (presentedToken !== undefined) checkTokenFormat(presentedToken);
    return this.#locked(r.name, () => this.#register(r, presentedToken, now));
  }

  async #register(
    r: z.output<typeof RegisterInputSchema>,
    presentedToken: string | undefined,
    now: number,
  ): Promise<Registration> {
    if (presentedToken !== undefined)
      await checkOwner(this.redis, this.keys, presentedToken, r.name);
    const token = presentedToken ?? mintToken();
    const previous = await this.get(r.name);
    // An update: the presented token is the record's (checked above, under the lock).
    if (presentedToken !== undefined && previous !== undefined)
      await unindexDropped(this.redis, this.keys, previous, r);
    const result = await registerScript.run(this.redis, {
      record: this.keys.agent(r.name),
      presentedHash: presentedToken === undefined ? undefined : hashToken(presentedToken),
      newHash: hashToken(token),
      now,
      fields: registrationFields(r, now),
    });
    if (result === -1) throw unknownToken();
    if (result === 0) {
      throw new SwitchboardError(
        "NAME_TAKEN",
        `agent name '${r.name}' is registered already (an operator can give it a new token: \`switchboard agents token ${r.name} --rotate\`)`,
        {
          field: "name",
          hint: "presentToken",
        },
      );
    }
    await indexRegistration(this.redis, this.keys, r, hashToken(token), now);
    await ensureGroup(this.redis, this.keys.inbox(r.name), INBOX_GROUP);
    const webhookSecret =
      r.webhook_url === undefined
        ? undefined
        : ((await this.redis.hget(this.keys.agent(r.name), AgentField.webhookSecret)) ?? undefined);
    return {
      agent: (await this.get(r.name))!,
      token,
      created: result === 1,
      webhook_secret: webhookSecret,
    };
  }

  /** Refuses a webhook on a private address when the configuration forbids them. */
  private checkWebhook(url: string): void {
    if (this.pipeline.webhooks.allowPrivateNetworks) return;
    const host = literalPrivateHost(new URL(url));
    if (host === undefined) return;
    throw new SwitchboardError(
      "INVALID_INPUT",
      `webhook_url points at ${host}, a loopback or private address, which this Switchboard forbids (webhooks.allowPrivateNetworks: false); give a publicly reachable https:// URL`,
      { field: "webhook_url" },
    );
  }

  /** The agent a token belongs to, if any; a malformed token is UNAUTHENTICATED, unlooked-up. */
  authenticate(token: string): Promise<string | undefined> {
    return tokenOwner(this.redis, this.keys, token, this.#tokenNames);
  }

  /**
   * Gives an agent a new token and returns it; the old one stops working at once.
   * Undefined when no agent has the name.
   */
  rotateToken(name: string): Promise<string | undefined> {
    return this.#locked(name, () => rotateToken(this.redis, this.keys, name));
  }

  /** Removes an agent, its token, capabilities and subscriptions; its inbox stays until retention. */
  unregister(name: string): Promise<void> {
    return this.#locked(name, () => this.#unregister(name));
  }

  async #unregister(name: string): Promise<void> {
    const agent = await this.get(name);
    if (agent !== undefined) await removeAgent(this.redis, this.keys, agent);
  }

  async get(name: string): Promise<AgentView | undefined> {
    return toView(await this.redis.hgetall(this.keys.agent(name)));
  }

  /** The names among these that are not registered. */
  async unknown(names: readonly string[]): Promise<string[]> {
    const replies = await sendCommands(this.redis, (batch) => {
      for (const name of names) batch.exists(this.keys.agent(name));
    });
    return names.filter((name, i) => name !== SYSTEM_AGENT && replies[i]?.[1] !== 1);
  }

  /** Every registered agent, optionally with a capability and a status, by name. */
  async list(
    filter: { capability?: string | undefined; status?: AgentStatus | undefined } = {},
  ): Promise<AgentView[]> {
    const names = await this.redis.zrange(this.keys.directory(), 0, -1);
    const replies = await sendCommands(this.redis, (batch) => {
      for (const name of names) batch.hgetall(this.keys.agent(name));
    });
    return replies
      .map(([, hash]) => toView(hash as Record<string, string>))
      .filter((a): a is AgentView => a !== undefined)
      .filter(
        (a) => filter.capability === undefined || hasCapability(a.capabilities, filter.capability),
      )
      .filter((a) => filter.status === undefined || a.status === filter.status)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Records a contact: the agent is online. Returns the change, if it was not. */
  async touch(name: string, now = Date.now()): Promise<StatusChange | undefined> {
    const [, previous] = await Promise.all([
      this.redis.zadd(this.keys.directory(), "XX", now, name),
      setStatusScript.run(this.redis, { record: this.keys.agent(name), to: "online", seenAt: now }),
    ]);
    if (previous === null) return undefined;
    await this.redis.incr(this.keys.directoryVersion());
    return { agent: name, from: previous, to: "online" };
  }

  /** Moves agents not heard from to idle, then offline; returns what changed. */
  async sweep(now = Date.now()): Promise<StatusChange[]> {
    const { idleAfterMs, offlineAfterMs } = this.pipeline.agents;
    const quiet = await this.redis.zrangebyscore(
      this.keys.directory(),
      "-inf",
      now - idleAfterMs,
      "WITHSCORES",
    );
    const changes: StatusChange[] = [];
    for (let i = 0; i + 1 < quiet.length; i += 2) {
      const name = quiet[i]!;
      const lastSeen = Number(quiet[i + 1]);
      const [from, to, threshold]: [AgentStatus, AgentStatus, number] =
        lastSeen <= now - offlineAfterMs
          ? ["idle", "offline", now - offlineAfterMs]
          : ["online", "idle", now - idleAfterMs];
      // An online agent silent past both timeouts goes to idle now and offline on the next sweep.
      const record = this.keys.agent(name);
      const previous = await setStatusScript.run(this.redis, {
        record,
        from,
        to,
        quietSince: threshold,
      });
      if (previous !== null) changes.push({ agent: name, from, to });
      else if (to === "offline") {
        const skipped = await setStatusScript.run(this.redis, {
          record,
          from: "online",
          to: "idle",
          quietSince: now - idleAfterMs,
        });
        if (skipped !== null) changes.push({ agent: name, from: "online", to: "idle" });
      }
    }
    if (changes.length > 0) await this.redis.incr(this.keys.directoryVersion());
    return changes;
  }

  /**
   * Grants a role (`undefined` revokes it); false when no agent has the name. Only
   * operators call this: registration never writes `role`, and keeps the one it finds.
   */
  async setRole(name: string, role: AgentRole | undefined): Promise<boolean> {
    return (await setRoleScript.run(this.redis, { record: this.keys.agent(name), role })) === 1;
  }

  // The agent's own list of topics is written first and cleared last, so that a process
  // that dies half-way leaves nothing unregistering would not find.

  /** Subscribes a registered agent to a topic: true if it was not; NOT_FOUND for no agent. */
  subscribe(name: string, topic: string): Promise<boolean> {
    return this.#locked(name, async () => {
      if ((await this.redis.exists(this.keys.agent(name))) === 0) throw agentNotFound(name);
      await this.redis.sadd(this.keys.agentTopics(name), topic);
      return (await this.redis.sadd(this.keys.topic(topic), name)) === 1;
    });
  }

  /** Ends a subscription: true if there was one. */
  unsubscribe(name: string, topic: string): Promise<boolean> {
    return this.#locked(name, async () => {
      const removed = await this.redis.srem(this.keys.topic(topic), name);
      await this.redis.srem(this.keys.agentTopics(name), topic);
      return removed === 1;
    });
  }

  /** Runs a change of one agent's record and indexes while holding its write lock. */
  #locked<T>(name: string, work: () => Promise<T>): Promise<T> {
    return withLock(this.redis, this.keys.agentWrite(name), work);
  }

  async topicsOf(name: string): Promise<string[]> {
    return (await this.redis.smembers(this.keys.agentTopics(name))).sort();
  }

  async subscribers(topic: string): Promise<string[]> {
    return this.redis.smembers(this.keys.topic(topic));
  }
}
