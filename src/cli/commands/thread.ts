import type { Command } from "commander";
import type { MessageView } from "../../history/history.js";
import { ThreadIdSchema } from "../../protocol/envelope.js";
import { usageError } from "../errors.js";
import { globalOptions, withExamples } from "../options.js";
import { withService } from "../service.js";
import { formatTable, truncate } from "../table.js";

/** `switchboard thread ID`: a thread in order, with where each message stands. */
export function registerThread(program: Command): void {
  const command = program
    .command("thread <id>")
    .description("show a thread in order: who said what, and where each message stands")
    .option("--json", "print a JSON array of the messages")
    .action(showThread);
  withExamples(command, ["switchboard thread 01933c1e-…", "switchboard thread 01933c1e-… --json"]);
}

async function showThread(
  id: string,
  options: { json?: boolean },
  command: Command,
): Promise<void> {
  if (!ThreadIdSchema.safeParse(id).success) {
    throw usageError(
      `'${id}' is not a thread id: 1-128 letters, digits, '.', '_', ':' or '-'`,
      "id",
    );
  }
  const messages = await withService(globalOptions(command), (service) =>
    service.history.thread(null, id),
  );
  if (options.json === true) process.stdout.write(`${JSON.stringify(messages, null, 2)}\n`);
  else process.stdout.write(`${formatThread(messages)}\n`);
}

function formatThread(messages: readonly MessageView[]): string {
  return formatTable(
    [
      { header: "seq", align: "right" },
      { header: "from" },
      { header: "to" },
      { header: "status" },
      { header: "subject" },
      { header: "body" },
    ],
    messages.map((m) => [
      String(m.seq ?? "-"),
      m.from,
      Object.entries(m.recipients)
        .map(([agent, state]) => `${agent}:${state.status}`)
        .join(" "),
      m.status?.status ?? "-",
      truncate(m.subject ?? "", 32),
      truncate(typeof m.body === "string" ? m.body : JSON.stringify(m.body), 48),
    ]),
  );
}
