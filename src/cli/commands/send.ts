import { Option, type Command } from "commander";
import type { SendRequest } from "../../protocol/compose.js";
import { AgentNameSchema } from "../../protocol/envelope.js";
import { SwitchboardError } from "../../protocol/errors.js";
import { describeIssues, firstIssuePath } from "../../protocol/issues.js";
import { MAX_AWAIT_REPLY_SECONDS, ToolInputs } from "../../protocol/tools.js";
import { MAX_TTL_SECONDS } from "../../protocol/compose.js";
import type { SendResult } from "../../service/send.js";
import type { Switchboard } from "../../service/switchboard.js";
import { usageError, withOptionNames } from "../errors.js";
import { globalOptions, integerBetween, splitList, withExamples } from "../options.js";
import { withService } from "../service.js";
import { sendFile } from "./send-file.js";

interface SendOptions {
  from?: string;
  to?: string;
  capability?: string;
  mode?: "any" | "all";
  broadcast?: boolean;
  topic?: string;
  awaitReply?: number;
  body?: string;
  text?: boolean;
  subject?: string;
  type?: string;
  thread?: string;
  replyTo?: string;
  ttl?: number;
  idempotencyKey?: string;
  file?: string;
  json?: boolean;
}

/** Options that describe one message, so they make no sense with `--file`. */
const SINGLE_MESSAGE_OPTIONS = [
  "to",
  "capability",
  "mode",
  "broadcast",
  "topic",
  "awaitReply",
  "body",
  "text",
  "subject",
  "type",
  "thread",
  "replyTo",
  "ttl",
  "idempotencyKey",
];

/** The option that sets each field of a send_message request, to name it in errors. */
const OPTION_OF_FIELD: ReadonlyMap<string, string> = new Map([
  ["from", "--from"],
  ["to", "--to"],
  ["capability", "--capability"],
  ["mode", "--mode"],
  ["broadcast", "--broadcast"],
  ["topic", "--topic"],
  ["body", "--body"],
  ["subject", "--subject"],
  ["type", "--type"],
  ["thread_id", "--thread"],
  ["reply_to", "--reply-to"],
  ["ttl_seconds", "--ttl"],
  ["idempotency_key", "--idempotency-key"],
  ["await_reply_seconds", "--await-reply"],
]);

/** `switchboard send`: one message from options, or many from a JSONL file. */
export function registerSend(program: Command): void {
  const command = program
    .command("send")
    .description("send a message, or every line of a JSONL file")
    .addOption(
      new Option(
        "--from <agent>",
        "the sender, a registered agent; with --file, the sender of lines that name none",
      ).env("SWITCHBOARD_AGENT"),
    )
    .addOption(
      new Option("--to <agents>", "recipients, comma-separated").conflicts([
        "capability",
        "broadcast",
        "topic",
      ]),
    )
    .option("--capability <capability>", "send to agents with this capability (see --mode)")
    .addOption(
      new Option("--mode <mode>", "with --capability: one agent (any) or every one (all)")
        .choices(["any", "all"])
        .conflicts(["broadcast"]),
    )
    .option(
      "--broadcast",
      "send to every agent but the sender (only those with --capability, if given)",
    )
    .addOption(
      new Option("--topic <topic>", "send to the subscribers of a topic").conflicts([
        "capability",
        "broadcast",
      ]),
    )
    .addOption(
      new Option(
        "--await-reply <seconds>",
        `wait up to this long (1-${MAX_AWAIT_REPLY_SECONDS}) for the first reply and print it`,
      ).argParser(integerBetween(1, MAX_AWAIT_REPLY_SECONDS)),
    )
    .option(
      "--body <text>",
      'the body: JSON when it parses as JSON; text otherwise, but text that starts like JSON ({, [ or ") and does not parse is refused (see --text)',
    )
    .option("--text", "send --body as text exactly as given, even when it looks like JSON")
    .option("--subject <text>", "a one-line subject")
    .option("--type <type>", "message type, such as `message` (the default) or `alert.disk`")
    .option("--thread <id>", "the thread to continue; default: a new thread")
    .option("--reply-to <message-id>", "the message this one answers")
    .addOption(
      new Option(
        "--ttl <seconds>",
        `expire the message after this many seconds (1-${MAX_TTL_SECONDS})`,
      ).argParser(integerBetween(1, MAX_TTL_SECONDS)),
    )
    .option("--idempotency-key <key>", "a key that makes a resend of this message a no-op")
    .addOption(
      new Option(
        "--file <path>",
        "send each line of a JSONL file (`-` reads stdin); lines have the fields of a send request",
      ).conflicts(SINGLE_MESSAGE_OPTIONS),
    )
    .option("--json", "print the result as JSON")
    .action(send);
  command.addHelpText(
    "after",
    '\nA JSONL line: {"from":"alice","to":["bob"],"body":…,"subject":…,"type":…,\n' +
      '  "thread_id":…,"reply_to":…,"ttl_seconds":…,"idempotency_key":…} (`to` may be a string).\n' +
      "The sender must be registered (switchboard agents register NAME). A --body that starts\n" +
      "like JSON but does not parse is refused rather than sent as a string the recipient\n" +
      "did not expect; --text sends it as text.",
  );
  withExamples(command, [
    `switchboard send --from alice --to bob --body 'hello'`,
    `switchboard send --from alice --to bob,carol --subject plan --body '{"step":1}'`,
    `switchboard send --from alice --to bob --text --body '{not json, and that is fine}'`,
    `switchboard send --file messages.jsonl --from loader`,
    `cat messages.jsonl | switchboard send --file - --json`,
  ]);
}

async function send(options: SendOptions, command: Command): Promise<void> {
  const globals = globalOptions(command);
  if (options.file !== undefined) {
    const summary = await sendFile(globals, {
      file: options.file,
      defaultFrom: options.from,
      json: options.json === true,
    });
    if (summary.rejected > 0) process.exitCode = 1;
    return;
  }
  const { from, input } = requestFromOptions(options);
  const result = await withService(globals, async (service) => {
    await checkSender(service, from);
    return withOptionNames(OPTION_OF_FIELD, () => service.send(from, input));
  });
  process.stdout.write(
    options.json === true ? `${JSON.stringify(result)}\n` : `${describeResult(result)}\n`,
  );
}

/** The CLI speaks for an agent only when it is registered: mail from nobody helps no one. */
async function checkSender(service: Switchboard, from: string): Promise<void> {
  if (await service.isRegistered(from)) return;
  throw new SwitchboardError(
    "NOT_FOUND",
    `--from '${from}' is not a registered agent; register it first: switchboard agents register ${from}`,
    { field: "--from" },
  );
}

function describeResult(result: SendResult): string {
  const lines = [`${result.status} ${result.message_id} (thread ${result.thread_id})`];
  if (result.reply_timed_out === true) lines.push("no reply in time");
  else if (result.reply != null)
    lines.push(`reply from ${result.reply.from}: ${JSON.stringify(result.reply.body)}`);
  return lines.join("\n");
}

/** The sender and the send_message input the options describe; `--from` and `--body` are required. */
function requestFromOptions(options: SendOptions) {
  const { from, body } = options;
  const targets = [options.to, options.capability, options.broadcast, options.topic];
  if (from === undefined || body === undefined || targets.every((t) => t === undefined)) {
    throw usageError(
      "give --from, a target (--to, --capability, --broadcast or --topic) and --body, or --file to send a JSONL file",
      from === undefined ? "--from" : body === undefined ? "--body" : "--to",
    );
  }
  if (options.mode !== undefined && options.capability === undefined) {
    throw usageError("--mode goes with --capability", "--mode");
  }
  if (!AgentNameSchema.safeParse(from).success) {
    throw usageError(
      `--from '${from}' is not an agent name: 1-64 letters, digits, '.', '_' or '-'`,
      "--from",
    );
  }
  const parsed = ToolInputs.send_message.safeParse({
    to: options.to === undefined ? undefined : splitList(options.to),
    capability: options.capability,
    mode: options.mode,
    broadcast: options.broadcast,
    topic: options.topic,
    body: options.text === true ? body : parseBody(body),
    subject: options.subject,
    type: options.type,
    thread_id: options.thread,
    reply_to: options.replyTo,
    ttl_seconds: options.ttl,
    idempotency_key: options.idempotencyKey,
    await_reply_seconds: options.awaitReply,
  });
  if (!parsed.success) {
    const field = firstIssuePath(parsed.error) ?? "";
    throw usageError(
      describeIssues(parsed.error, 5, optionOfField),
      OPTION_OF_FIELD.get(field.replace(/[[.].*$/, "")),
    );
  }
  return { from, input: parsed.data };
}

/** `to[1]` → `--to (item 2)`: a field of the request as the option that set it. */
function optionOfField(path: string): string {
  const match = /^([a-z_]+)(?:\[(\d+)\])?/.exec(path);
  const flag = match === null ? undefined : OPTION_OF_FIELD.get(match[1]!);
  if (flag === undefined) return `field \`${path}\``;
  return match?.[2] === undefined ? flag : `${flag} (item ${Number(match[2]) + 1})`;
}

/** Text that starts like JSON: an object, an array or a string. */
const LOOKS_LIKE_JSON = /^\s*[[{"]/;

/**
 * `{"a":1}` is sent as that object, `42` as a number, `hello` as the string "hello". Text
 * that starts like JSON and does not parse is refused, naming where it breaks: sent as a
 * string, it would reach a recipient expecting an object (`--text` sends it as text).
 */
export function parseBody(text: string): SendRequest["body"] {
  try {
    return JSON.parse(text) as SendRequest["body"];
  } catch (error) {
    if (!LOOKS_LIKE_JSON.test(text)) return text;
    throw usageError(
      `--body starts like JSON but is not: ${(error as Error).message}; fix it, or add --text to send it as text`,
      "--body",
    );
  }
}
