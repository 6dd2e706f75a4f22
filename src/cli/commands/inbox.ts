import { Option, type Command } from "commander";
import type { InboxMessage } from "../../inbox/inbox.js";
import { AgentNameSchema } from "../../protocol/envelope.js";
import { MAX_FETCH_LIMIT, MAX_FETCH_WAIT_SECONDS } from "../../protocol/tools.js";
import type { Switchboard } from "../../service/switchboard.js";
import { usageError, withOptionNames } from "../errors.js";
import { globalOptions, integerBetween, withExamples } from "../options.js";
import { noteUnusedPrefix } from "../presence.js";
import type { Runtime } from "../runtime.js";
import { withService } from "../service.js";
import { formatDuration, formatTable, truncate } from "../table.js";
import { plural } from "../../protocol/words.js";

interface InboxOptions {
  agent: string;
  limit: number;
  wait?: number;
  fetch?: boolean;
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
/** Errors about the agent name the service calls `name` are about `--agent` here. */
const INBOX_OPTIONS: ReadonlyMap<string, string> = new Map([["name", "--agent"]]);

/**
 * `switchboard inbox --agent B`: what waits for an agent, taking nothing (a person looking
 * at an inbox must not change what the agent gets); `--fetch` takes messages as the agent's
 * fetch_inbox does, `--ack` also acknowledges them as ack_messages does; `--peek` shows the
 * newest entries, acknowledged or not.
 */
export function registerInbox(program: Command): void {
  const command = program
    .command("inbox")
    .description(
      "show what waits in an agent's inbox, taking nothing; --fetch or --ack take messages as the agent would",
    )
    .addOption(
      new Option("--agent <name>", "the agent whose inbox to read")
        .env("SWITCHBOARD_AGENT")
        .makeOptionMandatory(),
    )
    .addOption(
      new Option("--limit <n>", `how many messages at most (1-${MAX_FETCH_LIMIT})`)
        .argParser(integerBetween(1, MAX_FETCH_LIMIT))
        .default(20),
    )
    .addOption(
      new Option(
        "--fetch",
        "take the messages as the agent would (fetch_inbox): unacknowledged, they are handed out again after the visibility timeout",
      ),
    )
    .addOption(
      new Option(
        "--ack",
        "take the messages and acknowledge them (fetch_inbox, then ack_messages)",
      ).conflicts(["fetch"]),
    )
    .addOption(
      new Option(
        "--wait <seconds>",
        `with --fetch or --ack: when nothing waits, wait this long for mail (0-${MAX_FETCH_WAIT_SECONDS})`,
      ).argParser(integerBetween(0, MAX_FETCH_WAIT_SECONDS)),
    )
    .addOption(
      new Option(
        "--peek",
        "show the newest entries, acknowledged or not (the inbox's history), taking nothing",
      ).conflicts(["fetch", "ack", "wait"]),
    )
    .option("--json", "print a JSON array of the messages")
    .action(showInbox);
  command.addHelpText(
    "after",
    "\nWithout --fetch or --ack nothing is taken: looking at an inbox does not change what the\n" +
      "agent gets. Taking is explicit, and named after the agent's own tools: --fetch takes as\n" +
      "fetch_inbox does (what is not acknowledged is handed out again after the visibility\n" +
      "timeout, `inbox.visibilityTimeoutMs`), --ack takes and acknowledges as ack_messages does.",
  );
  withExamples(command, [
    "switchboard inbox --agent bob",
    "switchboard inbox --agent bob --ack --wait 30",
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
  const taking = options.fetch === true || options.ack === true;
  if (options.wait !== undefined && !taking) {
    throw usageError(
      "--wait waits to take mail, as fetch_inbox does: add --fetch (or --ack); without them nothing is taken and nothing waits",
      "--wait",
    );
  }
  const items = await withService(globalOptions(command), (service, runtime) =>
    withOptionNames(INBOX_OPTIONS, () =>
      taking ? takeMessages(service, runtime, options) : lookAt(service, runtime, options),
    ),
  );
  if (options.json === true) {
    process.stdout.write(`${JSON.stringify(items.map(toItem), null, 2)}\n`);
  } else if (items.length === 0) {
    process.stdout.write(`${emptyText(options)}\n`);
  } else {
    process.stdout.write(`${formatInbox(items, Date.now())}\n`);
  }
}

/** What waits (or, with --peek, the newest entries); reads only. */
async function lookAt(
  service: Switchboard,
  runtime: Runtime,
  options: InboxOptions,
): Promise<InboxMessage[]> {
  await noteUnusedPrefix(runtime);
  await service.agent(options.agent);
  return options.peek === true
    ? service.recentMail(options.agent, options.limit)
    : service.waitingMail(options.agent, options.limit);
}

/** Takes waiting messages as fetch_inbox does; acknowledges them with `--ack`, else says when they return. */
async function takeMessages(
  service: Switchboard,
  runtime: Runtime,
  options: InboxOptions,
): Promise<InboxMessage[]> {
  await service.agent(options.agent);
  const messages = await service.fetch(options.agent, {
    limit: options.limit,
    wait_seconds: options.wait ?? 0,
  });
  const timeout = runtime.pipeline.inbox.visibilityTimeoutMs;
  if (messages.length === 0) {
    const { unread } = await service.digest(options.agent);
    if (unread > 0) {
      process.stderr.write(
        `${plural(unread, "message")} taken earlier ${unread === 1 ? "waits" : "wait"} to be acknowledged; ` +
          `taken and not acknowledged, a message is handed out again ${formatDuration(timeout)} after it was taken (the visibility timeout)\n`,
      );
    }
    return messages;
  }
  if (options.ack === true) {
    await service.ack(
      options.agent,
      messages.map((m) => m.message_id),
    );
    process.stderr.write(`acknowledged ${plural(messages.length, "message")}\n`);
    return messages;
  }
  const back = new Date(Date.now() + timeout).toISOString().slice(11, 19);
  process.stderr.write(
    `took ${plural(messages.length, "message")} as ${options.agent} without acknowledging ${messages.length === 1 ? "it" : "them"}: ` +
      `handed out again after the visibility timeout (${formatDuration(timeout)}, at ${back} UTC); --ack acknowledges what it takes\n`,
  );
  return messages;
}

function emptyText(options: InboxOptions): string {
  if (options.peek === true) return `(the inbox of ${options.agent} is empty)`;
  if (options.fetch === true || options.ack === true) {
    return `(nothing to take for ${options.agent}: no new messages, none due again)`;
  }
  return `(nothing waits for ${options.agent}: every message is acknowledged)`;
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
