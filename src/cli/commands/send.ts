import { Option, type Command } from "commander";
import { parseInput, type SendRequest } from "../../protocol/compose.js";
import { AgentNameSchema } from "../../protocol/envelope.js";
import { MAX_AWAIT_REPLY_SECONDS, ToolInputs } from "../../protocol/tools.js";
import type { SendResult } from "../../service/switchboard.js";
import { usageError } from "../errors.js";
import { globalOptions, positiveInteger, splitList, withExamples } from "../options.js";
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
  "subject",
  "type",
  "thread",
  "replyTo",
  "ttl",
  "idempotencyKey",
];

/** `switchboard send`: one message from options, or many from a JSONL file. */
export function registerSend(program: Command): void {
  const command = program
    .command("send")
    .description("send a message, or every line of a JSONL file")
    .option("--from <agent>", "the sender; with --file, the sender of lines that name none")
    .option("--to <agents>", "recipients, comma-separated")
    .option("--capability <capability>", "send to agents with this capability (see --mode)")
    .addOption(
      new Option("--mode <mode>", "with --capability: one agent (any) or every one (all)").choices([
        "any",
        "all",
      ]),
    )
    .option(
      "--broadcast",
      "send to every agent but the sender (only those with --capability, if given)",
    )
    .option("--topic <topic>", "send to the subscribers of a topic")
    .addOption(
      new Option(
        "--await-reply <seconds>",
        `wait up to this long (max ${MAX_AWAIT_REPLY_SECONDS}) for the first reply and print it`,
      ).argParser(positiveInteger),
    )
    .option("--body <text>", "the body: parsed as JSON if it is JSON, else sent as a string")
    .option("--subject <text>", "a one-line subject")
    .option("--type <type>", "message type, such as `message` (the default) or `alert.disk`")
    .option("--thread <id>", "the thread to continue; default: a new thread")
    .option("--reply-to <message-id>", "the message this one answers")
    .addOption(
      new Option("--ttl <seconds>", "expire the message after this many seconds").argParser(
        positiveInteger,
      ),
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
      '  "thread_id":…,"reply_to":…,"ttl_seconds":…,"idempotency_key":…} (`to` may be a string).',
  );
  withExamples(command, [
    `switchboard send --from alice --to bob --body 'hello'`,
    `switchboard send --from alice --to bob,carol --subject plan --body '{"step":1}'`,
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
  const result = await withService(globals, (service) => service.send(from, input));
  process.stdout.write(
    options.json === true ? `${JSON.stringify(result)}\n` : `${describeResult(result)}\n`,
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
  if (from === undefined || body === undefined) {
    const missing = (["from", "body"] as const).filter((name) => options[name] === undefined);
    throw usageError(
      `missing ${missing.map((name) => `--${name}`).join(", ")}; give --from, a target (--to, --capability, --broadcast or --topic) and --body, or --file to send a JSONL file`,
      `--${missing[0]}`,
    );
  }
  if (!AgentNameSchema.safeParse(from).success) {
    throw usageError(
      `--from '${from}' is not an agent name: 1-64 letters, digits, '.', '_' or '-'`,
      "--from",
    );
  }
  const input = parseInput(ToolInputs.send_message, {
    to: options.to === undefined ? undefined : splitList(options.to),
    capability: options.capability,
    mode: options.mode,
    broadcast: options.broadcast,
    topic: options.topic,
    body: parseBody(body),
    subject: options.subject,
    type: options.type,
    thread_id: options.thread,
    reply_to: options.replyTo,
    ttl_seconds: options.ttl,
    idempotency_key: options.idempotencyKey,
    await_reply_seconds: options.awaitReply,
  });
  return { from, input };
}

/** `{"a":1}` is sent as that object, `42` as a number, `hello` as the string "hello". */
export function parseBody(text: string): SendRequest["body"] {
  try {
    return JSON.parse(text) as SendRequest["body"];
  } catch {
    return text;
  }
}
