import { z } from "zod";
import {
  AgentNameSchema,
  ENVELOPE_VERSION,
  MessageIdSchema,
  MessageTypeSchema,
  ThreadIdSchema,
  TraceContextSchema,
  type Envelope,
} from "./envelope.js";
import { SwitchboardError } from "./errors.js";
import { uuidv7 } from "./ids.js";
import { describeIssues, firstIssuePath } from "./issues.js";

/** The longest a message may live before it expires: 30 days. */
export const MAX_TTL_SECONDS = 30 * 86_400;

/** What a sender asks for; the front end turns it into an envelope. */
export const SendRequestSchema = z.strictObject({
  from: AgentNameSchema,
  to: z.array(AgentNameSchema).min(1, "name at least one recipient").max(100),
  body: z.json(),
  subject: z.string().max(256).optional(),
  type: MessageTypeSchema.default("message"),
  thread_id: ThreadIdSchema.optional(),
  reply_to: MessageIdSchema.optional(),
  ttl_seconds: z
    .number()
    .int()
    .positive()
    .max(MAX_TTL_SECONDS, `a ttl is at most ${MAX_TTL_SECONDS} seconds (30 days)`)
    .optional(),
  idempotency_key: z.string().min(1).max(200).optional(),
  trace: TraceContextSchema.optional().catch(undefined),
});

export type SendRequest = z.input<typeof SendRequestSchema>;

/**
 * Builds a new envelope: a fresh time-ordered id, a new thread unless one is given.
 * Throws INVALID_INPUT naming the field when the request is wrong.
 */
export function composeEnvelope(request: SendRequest, now: number = Date.now()): Envelope {
  const parsed = SendRequestSchema.safeParse(request);
  if (!parsed.success) {
    throw new SwitchboardError("INVALID_INPUT", describeIssues(parsed.error), {
      field: firstIssuePath(parsed.error),
    });
  }
  const r = parsed.data;
  const id = uuidv7(now);
  const envelope: Envelope = {
    v: ENVELOPE_VERSION,
    id,
    from: r.from,
    to: { kind: "agents", agents: r.to },
    thread_id: r.thread_id ?? id,
    type: r.type,
    body: r.body,
    created_at: new Date(now).toISOString(),
  };
  if (r.reply_to !== undefined) envelope.reply_to = r.reply_to;
  if (r.subject !== undefined) envelope.subject = r.subject;
  if (r.ttl_seconds !== undefined) {
    envelope.expires_at = new Date(now + r.ttl_seconds * 1000).toISOString();
  }
  if (r.idempotency_key !== undefined) envelope.idempotency_key = r.idempotency_key;
  if (r.trace !== undefined) envelope.trace = r.trace;
  return envelope;
}
