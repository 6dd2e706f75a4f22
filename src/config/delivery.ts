import { z } from "zod";
import { positiveInt } from "./fields.js";

/** The `agents` block: when a silent agent turns idle, then offline. */
export const AgentsSchema = z.strictObject({
  /** An agent not heard from for this long turns from online to idle. */
  idleAfterMs: positiveInt("milliseconds").default(60_000),
  /** … and from idle to offline after this long. */
  offlineAfterMs: positiveInt("milliseconds").default(300_000),
  /** How often a front end checks for agents whose status should change. */
  sweepIntervalMs: positiveInt("milliseconds").default(5000),
});

/** The `inbox` block. */
export const InboxSchema = z.strictObject({
  /** A fetched message not acknowledged within this time is handed out again. */
  visibilityTimeoutMs: positiveInt("milliseconds").default(60_000),
  /** The most unacknowledged messages an agent's inbox may hold. */
  quota: positiveInt("messages").default(1000),
  /**
   * A message for a full inbox: `reject` marks it undeliverable for that agent and tells
   * the sender; `defer` retries it with the policy `retries.quota`, then dead-letters it
   * (and the sender is told).
   */
  overflow: z.enum(["reject", "defer"]).default("reject"),
});

/** A routing rule: messages that match also go to the named extra recipients. */
const RoutingRuleSchema = z.strictObject({
  /** A name for logs and errors. */
  name: z.string().min(1).max(64).optional(),
  match: z.strictObject({
    /** A message type, `*` matching any run of characters: `alert.*`. */
    type: z
      .string()
      .regex(/^[a-z0-9._*-]{1,64}$/, "a type pattern such as `alert.*`")
      .optional(),
    /** Only messages from this agent. */
    from: z.string().min(1).max(64).optional(),
  }),
  also: z
    .strictObject({
      capability: z.string().min(1).max(96).optional(),
      agents: z.array(z.string().min(1).max(64)).min(1).optional(),
      topic: z.string().min(1).max(128).optional(),
    })
    .refine(
      (also) => Object.keys(also).length === 1,
      "give exactly one of `capability`, `agents` or `topic`",
    ),
});

export type RoutingRule = z.infer<typeof RoutingRuleSchema>;

/** The `routing` block. */
export const RoutingSchema = z.strictObject({
  rules: z.array(RoutingRuleSchema).default([]),
});

/** The `webhooks` block: pushes to agents that registered a webhook URL. */
export const WebhooksSchema = z.strictObject({
  /** A webhook that has not answered within this time has failed (WEBHOOK_TIMEOUT). */
  timeoutMs: positiveInt("milliseconds").max(120_000).default(5000),
  /** Concurrent webhook requests per process: for first tries, and as many for retries. */
  concurrency: positiveInt("requests").max(1000).default(32),
  /**
   * False: webhook URLs on loopback, private, link-local or unique-local addresses are
   * refused at registration and at delivery (after DNS). Keep true for local development.
   */
  allowPrivateNetworks: z.boolean().default(true),
  breaker: z
    .strictObject({
      /** Consecutive failures of an endpoint that open its breaker. */
      failureThreshold: positiveInt("failures").default(5),
      /** How long an open breaker stops calls before one probe goes through. */
      cooldownMs: positiveInt("milliseconds").default(30_000),
    })
    .prefault({}),
});
