import { z } from "zod";
import { UUID_V7_PATTERN } from "./ids.js";
import { jsonValueSchema } from "./json-value.js";

/** The envelope version written by this code; readers refuse versions they do not know. */
export const ENVELOPE_VERSION = 1;

export const AgentNameSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
    "an agent name is 1-64 characters: letters, digits, '.', '_' or '-', starting with a letter or digit",
  );

/** Senders that are people overseeing the agents (`human:alice`): src/protocol/overseer.ts. */
export const HUMAN_PREFIX = "human:";

/** Who a message is from: an agent, or a person overseeing them (`human:<name>`). */
export const SenderSchema = z.union([
  AgentNameSchema,
  z.templateLiteral([HUMAN_PREFIX, AgentNameSchema]),
]);

export const MessageIdSchema = z
  .string()
  .regex(UUID_V7_PATTERN, "expected a message id (a lowercase UUIDv7)");

export const ThreadIdSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/,
    "a thread id is 1-128 characters: letters, digits, '.', '_', ':' or '-'",
  );

export const MessageTypeSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,63}$/,
    "a message type is lowercase, dot-separated words such as `message` or `alert.disk`",
  );

/** W3C trace context. A malformed value is dropped, never a reason to refuse a message. */
export const TraceContextSchema = z.object({
  traceparent: z.string().regex(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/),
  tracestate: z.string().max(512).optional(),
});

export const CapabilitySchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,63}(@[0-9A-Za-z][0-9A-Za-z.+-]{0,31})?$/,
    "a capability is a lowercase name with an optional version, such as `code-review` or `python@3.12`",
  );

export const TopicSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,127}$/,
    "a topic is 1-128 lowercase letters, digits, '.', '_' or '-', such as `builds.main`",
  );

/** Send to named agents. */
export const DirectTargetSchema = z.object({
  kind: z.literal("agents"),
  agents: z
    .array(AgentNameSchema)
    .min(1, "name at least one recipient")
    .max(100, "at most 100 recipients per message; use a topic or a capability for more"),
});

/** Send to every registered agent but the sender, optionally only those with a capability. */
export const BroadcastTargetSchema = z.object({
  kind: z.literal("broadcast"),
  capability: CapabilitySchema.optional(),
});

/** Send to one online agent with a capability (`any`, load-balanced) or to all of them. */
export const CapabilityTargetSchema = z.object({
  kind: z.literal("capability"),
  capability: CapabilitySchema,
  mode: z.enum(["any", "all"]),
});

/** Send to the subscribers of a topic. */
export const TopicTargetSchema = z.object({
  kind: z.literal("topic"),
  topic: TopicSchema,
});

export const TargetSchema = z.discriminatedUnion("kind", [
  DirectTargetSchema,
  BroadcastTargetSchema,
  CapabilityTargetSchema,
  TopicTargetSchema,
]);

const isoTime = z.iso.datetime({ offset: true });

export const EnvelopeSchema = z.object({
  v: z.literal(ENVELOPE_VERSION),
  id: MessageIdSchema,
  from: SenderSchema,
  to: TargetSchema,
  thread_id: ThreadIdSchema,
  reply_to: MessageIdSchema.optional(),
  type: MessageTypeSchema,
  subject: z.string().max(256, "a subject is at most 256 characters").optional(),
  body: jsonValueSchema(),
  created_at: isoTime,
  expires_at: isoTime.optional(),
  idempotency_key: z
    .string()
    .min(1)
    .max(200, "an idempotency key is at most 200 characters")
    .optional(),
  trace: TraceContextSchema.optional().catch(undefined),
  /** Position in the thread, assigned once by the validate stage. */
  seq: z.number().int().positive().optional(),
});

export type Envelope = z.infer<typeof EnvelopeSchema>;
export type Target = z.infer<typeof TargetSchema>;
export type TraceContext = z.infer<typeof TraceContextSchema>;

/**
 * W3C trace context as a caller gave it (MCP `_meta`, HTTP headers): a malformed
 * `tracestate` is dropped, a malformed `traceparent` drops both.
 */
export function traceContextOf(
  traceparent: unknown,
  tracestate: unknown,
): TraceContext | undefined {
  const parsed = TraceContextSchema.safeParse({ traceparent, tracestate });
  if (parsed.success) return parsed.data;
  const parent = TraceContextSchema.shape.traceparent.safeParse(traceparent);
  return parent.success ? { traceparent: parent.data } : undefined;
}
