import { Option, type Command } from "commander";
import type { InboxMessage } from "../../inbox/inbox.js";
import { AgentNameSchema } from "../../protocol/envelope.js";
import { usageError } from "../errors.js";
import { globalOptions, nonNegativeInteger, positiveInteger, withExamples } from "../options.js";
import { withService } from "../service.js";
import type { Switchboard } from "../../service/switchboard.js";
import { formatDuration, formatTable, truncate } from "../table.js";

interface InboxOptions {
  agent: string;
  limit: number;
  wait: number;
  ack?: boolean;
  peek?: boolean;
  json?: boolean;
}

/** One message as printed. */
export type InboxItem = Pick<
  InboxMessage,
  "inbox_id" | "message_id" | "from" | "subject" | "thread_id" | "seq" | "body" | "created_at"
>;

const BODY_PREVIEW_CHARS = 48;
const SUBJECT_CHARS = 32;

/**
 * `switchboard inbox --agent B`: fetch an agent's waiting messages as fetch_inbox does
 * (oldest unacknowledged first; they come back after the visibility timeout unless
 * acknowledged), or `--peek` at the newest entries without handing anything out.
 */
export function registerInbox(program: Command): void {
  const command = program
    .command("inbox")
    .description(
      "fetch an agent's waiting messages, as the agent would (or --peek without taking them)",
    )
    .requiredOption("--agent <name>", "the agent whose inbox to read")
    .addOption(
      new Option("--limit <n>", "how many messages at most").argParser(positiveInteger).default(20),
    )
    .addOption(
      new Option("--wait <seconds>", "when the inbox is empty, wait this long for mail (max 60)")
        .argParser(nonNegativeInteger)
        .default(0),
    )
    .option("--ack", "acknowledge the messages shown")
    .addOption(
      new Option(
        "--peek",
        "show the newest entries, handled or not, without handing them out",
      ).conflicts(["ack", "wait"]),
    )
    .option("--json", "print a JSON array of the messages")
    .action(showInbox);
  withExamples(command, [
    "switchboard inbox --agent bob",
    "switchboard inbox --agent bob --wait 30 --ack",
    "switchboard inbox --agent bob --peek --limit 100 --json",
  ]);
}

async function showInbox(options: InboxOptions, command: Command): Promise<void> {
  if (!AgentNameSchema.safeParse(options.agent).success) {
    throw usageError(
      `--agent '${options.agent}' is not an agent name: 1-64 letters, digits, '.', '_' or '-'`,
      "--agent",
    );
  }
  const items = await withService(globalOptions(command), (service) =>
    options.peek === true
      ? service.inbox.peek(options.agent, options.limit)
      : fetchInbox(service, options),
  );
  if (options.json === true) {
    process.stdout.write(`${JSON.stringify(items.map(toItem), null, 2)}\n`);
  } else if (items.length === 0) {
    process.stdout.write(`(the inbox of ${options.agent} is empty)\n`);
  } else {
    process.stdout.write(`${formatInbox(items, Date.now())}\n`);
  }
}

/** Hands out waiting messages as fetch_inbox does; acknowledges them with `--ack`. */
async function fetchInbox(service: Switchboard, options: InboxOptions): Promise<InboxMessage[]> {
  await service.agent(options.agent);
  const messages = await service.fetch(options.agent, {
    limit: options.limit,
    wait_seconds: Math.min(options.wait, 60),
  });
  if (options.ack === true && messages.length > 0) {
    await service.ack(
      options.agent,
      messages.map((m) => m.message_id),
    );
  }
  return messages;
}

function toItem(message: InboxMessage): InboxItem {
  const { inbox_id, message_id, from, subject, thread_id, seq, body, created_at } = message;
  return { inbox_id, message_id, from, subject, thread_id, seq, body, created_at };
}

function formatInbox(items: readonly InboxItem[], now: number): string {
  const rows = items.map((item) => [
    item.inbox_id,
    item.message_id,
    item.from,
    truncate(item.subject ?? "", SUBJECT_CHARS),
    formatDuration(now - Date.parse(item.created_at)),
    truncate(bodyText(item.body), BODY_PREVIEW_CHARS),
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
