import { z } from "zod";
import { AGENT_STATUSES, RegisterInputSchema } from "./agent.js";
import {
  AgentNameSchema,
  CapabilitySchema,
  MessageIdSchema,
  ThreadIdSchema,
  TopicSchema,
} from "./envelope.js";
import { checkTarget, MessageFieldsShape } from "./compose.js";
import { ERROR_CATEGORIES, ERROR_CODES, type ErrorCode } from "./errors.js";
import { isMessageId } from "./ids.js";
import { NoteInputs } from "./note.js";
import { streamIdSchema } from "./stream-id.js";
import { checkLoopSelection, LoopSelectionShape } from "./loops.js";
import { DEAD_LETTER_ID_SHAPE, deadLetterIdSchema, isDeadLetterId } from "./dead-letter-id.js";
import { LeaseToolInputs } from "./lease-tools.js";

/**
 * Input schemas of the tools, shared by the MCP front end and the CLI. The descriptions
 * are what a model reads: each says what the field does and what to give.
 */

/** The longest `send_message` waits for a reply: well below the 60 s clients allow a call. */
export const MAX_AWAIT_REPLY_SECONDS = 45;
export const MAX_FETCH_LIMIT = 100;
/** The longest `fetch_inbox` waits for mail; more is refused, not cut down. */
export const MAX_FETCH_WAIT_SECONDS = 60;
export const MAX_REPLAY_LIMIT = 200;

export const StreamCursorSchema = streamIdSchema(
  "a cursor is an inbox id such as `1732430000000-0` (from fetch_inbox or replay), or `0`",
  { msAlone: true },
);

/** With `thread_id`, replay's `after` is a sequence number in the thread (`0` for all). */
const THREAD_CURSOR = /^\d{1,15}$/;

/**
 * The oldest a dead-letter filter may look back, in seconds: ten years, so that `now` minus
 * the age is still a time (and a stream id) Redis accepts.
 */
export const MAX_AGE_SECONDS = 10 * 365 * 86_400;

export const MAX_DLQ_LIMIT = 200;
export const MAX_DLQ_IDS = 100;

/** The stages, as config/stages.ts names them (protocol/ may not import config/). */
export const DEAD_LETTER_STAGES = ["validate", "route", "deliver", "persist"] as const;

export const DeadLetterIdSchema = deadLetterIdSchema();

const ageSchema = (what: string) =>
  z
    .number()
    .int()
    .min(0)
    .max(MAX_AGE_SECONDS, `at most ${MAX_AGE_SECONDS} seconds (10 years)`)
    .optional()
    .describe(`${what} (0-${MAX_AGE_SECONDS}).`);

/** A dead letter by its own id, or every dead letter of a message by the message's id. */
const DeadLetterNameSchema = z
  .string()
  .max(64, "an id is at most 64 characters")
  .refine(
    (id) => isDeadLetterId(id) || isMessageId(id),
    `${DEAD_LETTER_ID_SHAPE}, or a message id (a lowercase UUIDv7)`,
  );

/** What selects dead letters: every part given must match. */
const DeadLetterFilterShape = {
  agent: AgentNameSchema.optional().describe("Only dead letters from or to this agent."),
  stage: z.enum(DEAD_LETTER_STAGES).optional().describe("Only those that gave up in this stage."),
  code: z
    .enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]])
    .optional()
    .describe("Only those whose last error has this code, e.g. `WEBHOOK_TIMEOUT`."),
  category: z.enum(ERROR_CATEGORIES).optional().describe("Only those in this error category."),
  older_than_seconds: ageSchema("Only those dead-lettered at least this many seconds ago"),
  newer_than_seconds: ageSchema("Only those dead-lettered at most this many seconds ago"),
};
const FILTER_FIELDS = Object.keys(DeadLetterFilterShape);

/** Dead letters named by id, or `all: true` with a filter: exactly one of the two. */
function deadLetterSelection(verb: string) {
  return z
    .strictObject({
      ids: z
        .array(DeadLetterNameSchema)
        .min(1, "give at least one id")
        .max(MAX_DLQ_IDS)
        .optional()
        .describe(
          `Dead letters to ${verb}, by id (from dlq_list), or by message id: every dead letter of that message (one per recipient that gave up).`,
        ),
      all: z
        .boolean()
        .optional()
        .describe(`true: ${verb} every dead letter matching the filter fields (all, without any).`),
      ...DeadLetterFilterShape,
    })
    .superRefine((input, ctx) => {
      const all = input.all === true;
      if (all && input.ids !== undefined) {
        ctx.addIssue({ code: "custom", path: ["all"], message: "give `ids` or `all`, not both" });
      } else if (!all && input.ids === undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["ids"],
          message: "name the dead letters (`ids`, from dlq_list) or give `all: true` with filters",
        });
      }
      const filter = FILTER_FIELDS.find((k) => input[k as keyof typeof input] !== undefined);
      if (!all && filter !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: [filter],
          message: `\`${filter}\` selects dead letters for \`all: true\`; add it, or give \`ids\` only`,
        });
      }
    });
}

/** With `thread_id`, `after` is a sequence number (a thread's next_cursor), not an inbox id. */
function checkReplayCursor(
  input: { thread_id?: string | undefined; after?: string | undefined },
  ctx: z.RefinementCtx,
): void {
  if (input.thread_id === undefined || input.after === undefined) return;
  if (!THREAD_CURSOR.test(input.after)) {
    ctx.addIssue({
      code: "custom",
      path: ["after"],
      message:
        "with `thread_id`, `after` is a sequence number in the thread (0 to 999999999999999, the next_cursor of the page before), not an inbox id",
    });
  }
}

export const ToolInputs = {
  register_agent: RegisterInputSchema,
  unregister_agent: z.strictObject({}),
  heartbeat: z.strictObject({}),
  list_agents: z.strictObject({
    capability: CapabilitySchema.optional().describe(
      "Only agents with this capability, e.g. `code-review` or `python@3`.",
    ),
    status: z
      .enum(AGENT_STATUSES)
      .optional()
      .describe("Only agents in this status: online, idle or offline."),
  }),
  send_message: z
    .strictObject({
      ...MessageFieldsShape,
      await_reply_seconds: z
        .number()
        .int()
        .min(1)
        .max(
          MAX_AWAIT_REPLY_SECONDS,
          `wait at most ${MAX_AWAIT_REPLY_SECONDS} seconds for a reply; fetch_inbox later for slower ones`,
        )
        .optional()
        .describe(
          `Wait up to this many seconds (max ${MAX_AWAIT_REPLY_SECONDS}) for the first reply and return it.`,
        ),
    })
    .superRefine(checkTarget),
  fetch_inbox: z.strictObject({
    limit: z
      .number()
      .int()
      .min(1)
      .max(MAX_FETCH_LIMIT)
      .default(10)
      .describe(`How many messages at most (1-${MAX_FETCH_LIMIT}).`),
    wait_seconds: z
      .number()
      .min(0)
      .max(
        MAX_FETCH_WAIT_SECONDS,
        `wait at most ${MAX_FETCH_WAIT_SECONDS} seconds; call again to wait longer`,
      )
      .default(0)
      .describe(
        `If the inbox is empty, wait up to this many seconds (max ${MAX_FETCH_WAIT_SECONDS}) for mail to arrive.`,
      ),
  }),
  ack_messages: z.strictObject({
    message_ids: z
      .array(MessageIdSchema)
      .min(1, "give at least one message id")
      .max(MAX_FETCH_LIMIT)
      .describe(
        "Ids of messages you have handled; unacknowledged ones are handed out again after the visibility timeout.",
      ),
  }),
  get_message: z.strictObject({
    message_id: MessageIdSchema.describe("A message you sent or received."),
  }),
  get_thread: z.strictObject({
    thread_id: ThreadIdSchema.describe("The thread id (every message carries its thread_id)."),
  }),
  subscribe_topic: z.strictObject({
    topic: TopicSchema.describe(
      "The topic to receive messages of, e.g. `builds.main` or `switchboard.agents` (agent status changes).",
    ),
  }),
  unsubscribe_topic: z.strictObject({ topic: TopicSchema.describe("A topic you subscribed to.") }),
  replay: z
    .strictObject({
      thread_id: ThreadIdSchema.optional().describe(
        "Replay this thread, in order; `after` is then a sequence number (next_cursor of the page before).",
      ),
      after: StreamCursorSchema.optional().describe(
        "Without thread_id: everything your inbox received after this cursor (an inbox_id), `0` for all. Page on with next_cursor; null means the end.",
      ),
      limit: z
        .number()
        .int()
        .min(1)
        .max(MAX_REPLAY_LIMIT)
        .default(50)
        .describe(`Messages per page (1-${MAX_REPLAY_LIMIT}).`),
    })
    .superRefine(checkReplayCursor),
  dlq_list: z.strictObject({
    ...DeadLetterFilterShape,
    limit: z
      .number()
      .int()
      .min(1)
      .max(MAX_DLQ_LIMIT)
      .default(20)
      .describe(`Dead letters per page (1-${MAX_DLQ_LIMIT}), newest first.`),
    after: DeadLetterIdSchema.optional().describe(
      "The page after this id: next_cursor of the page before.",
    ),
  }),
  dlq_replay: deadLetterSelection("replay"),
  dlq_purge: deadLetterSelection("purge"),
  ...LeaseToolInputs,
  ...NoteInputs,
  list_loops: z.strictObject({}),
  clear_loop: z.strictObject(LoopSelectionShape).superRefine(checkLoopSelection),
} as const;

export type ToolName = keyof typeof ToolInputs;
export type ToolInput<T extends ToolName> = z.output<(typeof ToolInputs)[T]>;
