import { z } from "zod";
import {
  AgentNameSchema,
  CapabilitySchema,
  ENVELOPE_VERSION,
  MessageIdSchema,
  MessageTypeSchema,
  SenderSchema,
  ThreadIdSchema,
  TopicSchema,
  TraceContextSchema,
  type Envelope,
  type Target,
} from "./envelope.js";
import { SwitchboardError } from "./errors.js";
import { uuidv7 } from "./ids.js";
import { jsonValueSchema } from "./json-value.js";
import { describeIssues, firstIssuePath } from "./issues.js";

/** The longest a message may live before it expires: 30 days. */
export const MAX_TTL_SECONDS = 30 * 86_400;

/**
 * The fields of a message as a sender writes it, with descriptions a model can act on.
 * Shared by the CLI, the MCP `send_message` tool and bulk send.
 */
export const MessageFieldsShape = {
  to: z
    .array(AgentNameSchema)
    .min(1, "name at least one recipient")
    .max(100, "at most 100 recipients; use a topic or a capability for more")
    .optional()
    .describe(
      "Names of the agents to send to. Give exactly one target: `to`, `capability`, `broadcast` or `topic`.",
    ),
  capability: CapabilitySchema.optional().describe(
    "Send to agents that have this capability (e.g. `code-review`, `python@3`). With `mode: any` one online agent gets it; with `all`, every one.",
  ),
  mode: z
    .enum(["any", "all"])
    .optional()
    .describe(
      "With `capability`: `any` (default) picks one agent, the least busy; `all` sends to every one.",
    ),
  broadcast: z
    .boolean()
    .optional()
    .describe(
      "true: send to every registered agent but you (only those with `capability`, if given).",
    ),
  topic: TopicSchema.optional().describe("Send to every agent subscribed to this topic."),
  subject: z
    .string()
    .max(256, "a subject is at most 256 characters")
    .optional()
    .describe("A one-line summary."),
  body: jsonValueSchema().describe(
    "The message: any JSON value (text, or an object for structured requests).",
  ),
  type: MessageTypeSchema.default("message").describe(
    "A dotted message type such as `message`, `task.request`, `alert.disk`.",
  ),
  thread_id: ThreadIdSchema.optional().describe(
    "Continue this thread; omit to start a new one (its id is returned).",
  ),
  reply_to: MessageIdSchema.optional().describe(
    "The message id this answers; keeps its thread when `thread_id` is omitted.",
  ),
  ttl_seconds: z
    .number()
    .int()
    .positive()
    .max(MAX_TTL_SECONDS, `a ttl is at most ${MAX_TTL_SECONDS} seconds (30 days)`)
    .optional()
    .describe("Expire the message if not delivered and fetched within this many seconds."),
  idempotency_key: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe(
      "A key of yours: a retry with the same key returns the first message instead of sending twice.",
    ),
};

const TARGET_FIELDS = ["to", "capability", "broadcast", "topic"] as const;

interface TargetFields {
  to?: string[] | undefined;
  capability?: string | undefined;
  mode?: "any" | "all" | undefined;
  broadcast?: boolean | undefined;
  topic?: string | undefined;
}

/** Exactly one target: `to`, `capability`, `broadcast` (optionally with `capability`) or `topic`. */
export function checkTarget(fields: TargetFields, ctx: z.RefinementCtx): void {
  const given = TARGET_FIELDS.filter((name) =>
    name === "broadcast" ? fields.broadcast === true : fields[name] !== undefined,
  );
  const targets = fields.broadcast === true ? given.filter((name) => name !== "capability") : given;
  if (targets.length !== 1) {
    ctx.addIssue({
      code: "custom",
      path: [targets[1] ?? "to"],
      message:
        targets.length === 0
          ? "give a target: `to` (agent names), `capability`, `broadcast: true` or `topic`"
          : `give exactly one target, not ${targets.map((t) => `\`${t}\``).join(" and ")}`,
    });
  }
  if (fields.mode !== undefined && (fields.capability === undefined || fields.broadcast === true)) {
    ctx.addIssue({
      code: "custom",
      path: ["mode"],
      message: "`mode` goes with `capability` (and not with `broadcast`)",
    });
  }
}

/** What a sender asks for; the front end turns it into an envelope. */
export const SendRequestSchema = z
  .strictObject({
    from: SenderSchema,
    ...MessageFieldsShape,
    trace: TraceContextSchema.optional().catch(undefined),
  })
  .superRefine(checkTarget);

export type SendRequest = z.input<typeof SendRequestSchema>;

export function targetOf(fields: TargetFields): Target {
  if (fields.to !== undefined) return { kind: "agents", agents: fields.to };
  if (fields.topic !== undefined) return { kind: "topic", topic: fields.topic };
  if (fields.broadcast === true) {
    return fields.capability === undefined
      ? { kind: "broadcast" }
      : { kind: "broadcast", capability: fields.capability };
  }
  return { kind: "capability", capability: fields.capability!, mode: fields.mode ?? "any" };
}

/** Parses with a schema, throwing INVALID_INPUT that names the first wrong field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    throw new SwitchboardError("INVALID_INPUT", describeIssues(parsed.error), {
      field: firstIssuePath(parsed.error),
    });
  }
  return parsed.data;
}

/**
 * Builds a new envelope: a fresh time-ordered id, a new thread unless one is given.
 * Throws INVALID_INPUT naming the field when the request is wrong.
 */
export function composeEnvelope(request: SendRequest, now: number = Date.now()): Envelope {
  const r = parseInput(SendRequestSchema, request);
  const id = uuidv7(now);
  const envelope: Envelope = {
    v: ENVELOPE_VERSION,
    id,
    from: r.from,
    to: targetOf(r),
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
