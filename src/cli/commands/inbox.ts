import { Option, type Command } from "commander";
import type { Pipeline } from "../../config/pipeline.js";
import { decodeEnvelope } from "../../protocol/codec.js";
import { AgentNameSchema } from "../../protocol/envelope.js";
import { Field, parseEntries, type StreamEntry } from "../../pipeline/entry.js";
import { describeError, usageError } from "../errors.js";
import { globalOptions, positiveInteger, withExamples } from "../options.js";
import { withRuntime, type Runtime } from "../runtime.js";
import { formatDuration, formatTable, truncate } from "../table.js";

interface InboxOptions {
  agent: string;
  limit: number;
  json?: boolean;
}

/** One inbox entry as printed; `error` is set (and the rest may be null) when it does not decode. */
export interface InboxItem {
  inbox_id: string;
  message_id: string | null;
  from: string | null;
  subject: string | null;
  thread_id: string | null;
  seq: number | null;
  body: unknown;
  created_at: string | null;
  error?: string;
}

const BODY_PREVIEW_CHARS = 48;
const SUBJECT_CHARS = 32;

/** `switchboard inbox --agent B`: the newest messages in an agent's inbox. */
export function registerInbox(program: Command): void {
  const command = program
    .command("inbox")
    .description("show the newest messages in an agent's inbox, oldest first")
    .requiredOption("--agent <name>", "the agent whose inbox to read")
    .addOption(
      new Option("--limit <n>", "how many of the newest entries to show")
        .argParser(positiveInteger)
        .default(20),
    )
    .option("--json", "print a JSON array of the messages")
    .action(showInbox);
  withExamples(command, [
    "switchboard inbox --agent bob",
    "switchboard inbox --agent bob --limit 100 --json",
  ]);
}

async function showInbox(options: InboxOptions, command: Command): Promise<void> {
  if (!AgentNameSchema.safeParse(options.agent).success) {
    throw usageError(
      `--agent '${options.agent}' is not an agent name: 1-64 letters, digits, '.', '_' or '-'`,
      "--agent",
    );
  }
  const items = await withRuntime(globalOptions(command), (runtime) =>
    readInbox(runtime, options.agent, options.limit),
  );
  if (options.json === true) {
    process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
  } else if (items.length === 0) {
    process.stdout.write(`(the inbox of ${options.agent} is empty)\n`);
  } else {
    process.stdout.write(`${formatInbox(items, Date.now())}\n`);
  }
}

/** The newest `limit` entries of an agent's inbox, oldest first. */
export async function readInbox(
  runtime: Runtime,
  agent: string,
  limit: number,
): Promise<InboxItem[]> {
  const reply = await runtime.redis.callBuffer(
    "XREVRANGE",
    runtime.keys.inbox(agent),
    "+",
    "-",
    "COUNT",
    limit,
  );
  return parseEntries(reply)
    .reverse()
    .map((entry) => toItem(entry, runtime.pipeline));
}

function toItem(entry: StreamEntry, pipeline: Pipeline): InboxItem {
  const messageId = entry.fields.get(Field.messageId)?.toString("utf8") ?? null;
  try {
    const envelope = decodeEnvelope(
      entry.fields.get(Field.encoding)?.toString("utf8") ?? "",
      entry.fields.get(Field.envelope) ?? Buffer.alloc(0),
      pipeline.limits,
    );
    return {
      inbox_id: entry.id,
      message_id: envelope.id,
      from: envelope.from,
      subject: envelope.subject ?? null,
      thread_id: envelope.thread_id,
      seq: envelope.seq ?? null,
      body: envelope.body,
      created_at: envelope.created_at,
    };
  } catch (error) {
    return {
      inbox_id: entry.id,
      message_id: messageId,
      from: null,
      subject: null,
      thread_id: null,
      seq: null,
      body: null,
      created_at: null,
      error: describeError(error),
    };
  }
}

function formatInbox(items: readonly InboxItem[], now: number): string {
  const rows = items.map((item) => [
    item.inbox_id,
    item.message_id ?? "?",
    item.from ?? "?",
    truncate(item.subject ?? "", SUBJECT_CHARS),
    item.created_at === null ? "?" : formatDuration(now - Date.parse(item.created_at)),
    item.error === undefined
      ? truncate(bodyText(item.body), BODY_PREVIEW_CHARS)
      : `(undecodable: ${truncate(item.error, BODY_PREVIEW_CHARS)})`,
  ]);
  return formatTable(
    [
      { header: "inbox id" },
      { header: "message id" },
      { header: "from" },
      { header: "subject" },
      { header: "age", align: "right" },
      { header: "body" },
    ],
    rows,
  );
}

function bodyText(body: unknown): string {
  return typeof body === "string" ? body : JSON.stringify(body);
}
