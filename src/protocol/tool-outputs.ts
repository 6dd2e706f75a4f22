import { z } from "zod";
import { AGENT_ROLES, AGENT_STATUSES } from "./agent.js";

/**
 * Output schemas of the tools: what `structuredContent` holds, and what the HTTP API
 * (`/v1`) answers with. Objects the service owns (agents, messages) are loose, so a field
 * added there does not break a client that validates results against the advertised schema.
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

/** The output shapes of the tools the HTTP API serves too; the other tools keep theirs. */
export const ToolOutputs = {
  register_agent: {
    name: z.string().describe("Your agent name."),
    token: z
      .string()
      .describe("Keep it: present it to act as this agent from another session or process."),
    created: z.boolean().describe("True when the name was new; false when it was updated."),
    webhook_secret: z
      .string()
      .optional()
      .describe(
        "With a webhook_url: the secret each POST is signed with (x-switchboard-signature); verify it in your receiver.",
      ),
    agent: AgentSchema,
  },
  list_agents: {
    agents: z.array(AgentSchema),
    count: z.number().int(),
  },
  send_message: {
    message_id: z.string(),
    thread_id: z.string(),
    status: z
      .enum(["accepted", "duplicate"])
      .describe("duplicate: an earlier message with this idempotency key, not sent again."),
    reply: InboxMessageSchema.nullable()
      .optional()
      .describe("With await_reply_seconds: the first reply (already acked), or null."),
    reply_timed_out: z.boolean().optional(),
  },
  fetch_inbox: {
    messages: z.array(InboxMessageSchema),
    count: z.number().int(),
  },
  ack_messages: {
    acked: z.array(z.string()).describe("Acknowledged by this call."),
    already_acked: z.array(z.string()),
    unknown: z.array(z.string()).describe("Not messages of your inbox: check the ids."),
  },
  get_message: { message: MessageViewSchema },
  get_thread: {
    thread_id: z.string(),
    messages: z.array(MessageViewSchema),
  },
} as const satisfies Record<string, z.ZodRawShape>;
