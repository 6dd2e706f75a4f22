import { Option, type Command } from "commander";
import { Ingress, type Accepted } from "../../ingress/ingress.js";
import { composeEnvelope, type SendRequest } from "../../protocol/compose.js";
import { usageError } from "../errors.js";
import { globalOptions, positiveInteger, splitList, withExamples } from "../options.js";
import { withRuntime } from "../runtime.js";
import { sendFile } from "./send-file.js";

interface SendOptions {
  from?: string;
  to?: string;
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
  const envelope = composeEnvelope(requestFromOptions(options));
  const accepted = await withRuntime(globals, (runtime) =>
    new Ingress(runtime.redis, runtime.keys, runtime.pipeline).accept(envelope),
  );
  process.stdout.write(
    options.json === true ? `${JSON.stringify(accepted)}\n` : `${describeAccepted(accepted)}\n`,
  );
}

function describeAccepted(accepted: Accepted): string {
  return `accepted ${accepted.message_id} (thread ${accepted.thread_id})`;
}

/** The send request the options describe; `--from`, `--to` and `--body` are required. */
function requestFromOptions(options: SendOptions): SendRequest {
  const { from, to, body } = options;
  if (from === undefined || to === undefined || body === undefined) {
    const missing = (["from", "to", "body"] as const).filter((name) => options[name] === undefined);
    throw usageError(
      `missing ${missing.map((name) => `--${name}`).join(", ")}; give --from, --to and --body, or --file to send a JSONL file`,
      `--${missing[0]}`,
    );
  }
  return {
    from,
    to: splitList(to),
    body: parseBody(body),
    subject: options.subject,
    type: options.type,
    thread_id: options.thread,
    reply_to: options.replyTo,
    ttl_seconds: options.ttl,
    idempotency_key: options.idempotencyKey,
  };
}

/** `{"a":1}` is sent as that object, `42` as a number, `hello` as the string "hello". */
export function parseBody(text: string): SendRequest["body"] {
  try {
    return JSON.parse(text) as SendRequest["body"];
  } catch {
    return text;
  }
}
