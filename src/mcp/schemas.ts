import { z } from "zod";
import { AGENT_ROLES, AGENT_STATUSES } from "../protocol/agent.js";

/**
 * Output schemas of the tools: what `structuredContent` holds. Objects the service owns
 * (agents, messages) are loose, so a field added there does not break a client that
 * validates results against the advertised schema.
 */

export const DigestSchema = z
  .object({
    unread: z.number().int().min(0).describe("Messages waiting for you, fetched or not, unacked."),
    oldest_waiting_seconds: z
      .number()
      .min(0)
      .nullable()
      .describe("Age of the oldest waiting message in seconds; null when none wait."),
  })
  .describe("Your inbox at the end of this call; fetch_inbox takes what waits.");

export const AgentSchema = z.looseObject({
  name: z.string(),
  capabilities: z.array(z.string()),
  description: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  delivery: z.enum(["pull", "webhook"]),
  webhook_url: z.string().optional(),
  status: z.enum(AGENT_STATUSES),
  role: z
    .enum(AGENT_ROLES)
    .optional()
    .describe("`admin`: may call the dlq_* tools and break_lease."),
  registered_at: z.string(),
  last_seen: z.string(),
});

/** The fields every message view shares: an inbox message, a message record, a replayed one. */
const MessageShape = {
  message_id: z.string(),
  from: z.string(),
  type: z.string(),
  subject: z.string().optional(),
  body: z.unknown().describe("Any JSON value, as the sender gave it."),
  thread_id: z.string(),
  seq: z.number().int().optional().describe("Place in the thread, from 1."),
  reply_to: z.string().optional(),
  created_at: z.string(),
  expires_at: z.string().optional(),
};

export const InboxMessageSchema = z.looseObject({
  ...MessageShape,
  inbox_id: z.string().describe("Cursor for replay `after`."),
  redelivered: z.boolean().describe("Handed out before and not acked in time."),
});

const StatusStateSchema = z.looseObject({
  status: z.string(),
  at: z.string(),
  summary: z.string().describe('In words, e.g. "retrying, attempt 3 of 8, next at …".'),
  history: z.array(z.looseObject({ status: z.string(), at: z.string() })),
});

export const MessageViewSchema = z.looseObject({
  ...MessageShape,
  to: z.looseObject({ kind: z.string() }).describe("The target the sender gave."),
  status: StatusStateSchema.optional().describe("Where the message stands as a whole."),
  recipients: z.record(z.string(), StatusStateSchema).describe("Where it stands per recipient."),
});

/** A replayed message: from an inbox (with `inbox_id`) or from a thread's records. */
export const ReplayedMessageSchema = z.looseObject(MessageShape);
