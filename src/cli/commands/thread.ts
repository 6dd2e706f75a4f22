import type { Command } from "commander";
import { History, type MessageView } from "../../history/history.js";
import type { Target } from "../../protocol/envelope.js";
import { ThreadIdSchema } from "../../protocol/envelope.js";
import { usageError } from "../errors.js";
import { globalOptions, withExamples } from "../options.js";
import { noteUnusedPrefix } from "../presence.js";
import { withRuntime } from "../runtime.js";
import { formatDuration, formatTable, truncate } from "../table.js";

/** `switchboard thread ID`: a thread in order, with where each message stands. */
export function registerThread(program: Command): void {
  const command = program
    .command("thread <id>")
    .description("show a thread in order: who said what, and where each message stands")
    .option("--json", "print a JSON array of the messages")
    .action(showThread);
  command.addHelpText(
    "after",
    "\n# is a message's place in the thread. `to` names the recipients, or the target (a\n" +
      "capability, a topic, a broadcast) when none was found; `status` is where the message\n" +
      "stands for each recipient (read, acked, …), or for the message itself when it reached\n" +
      "nobody (undeliverable, rejected, …). Reads only.",
  );
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
  // An operator reads every thread, as no agent may: from the history itself.
  const messages = await withRuntime(globalOptions(command), async (runtime) => {
    await noteUnusedPrefix(runtime);
    return new History(runtime.redis, runtime.keys, runtime.pipeline).thread(null, id);
  });
  if (options.json === true) process.stdout.write(`${JSON.stringify(messages, null, 2)}\n`);
  else process.stdout.write(`${formatThread(messages, Date.now())}\n`);
}

export function formatThread(messages: readonly MessageView[], now: number): string {
  return formatTable(
    [
      { header: "#", align: "right" },
      { header: "age", align: "right" },
      { header: "from" },
      { header: "to" },
      { header: "status" },
      { header: "subject" },
      { header: "body" },
    ],
    messages.map((m, i) => [
      String(i + 1),
      formatDuration(now - Date.parse(m.created_at)),
      m.from,
      recipientsOf(m),
      statusOf(m),
      truncate(m.subject ?? "", 32),
      truncate(typeof m.body === "string" ? m.body : JSON.stringify(m.body), 48),
    ]),
  );
}

/** The recipients found, or the target when there are none (yet). */
function recipientsOf(m: MessageView): string {
  const names = Object.keys(m.recipients);
  return names.length > 0 ? names.join(", ") : describeTarget(m.to);
}

/** `bob, carol`, `capability code-review (any)`, `topic builds`, `broadcast`. */
export function describeTarget(to: Target): string {
  switch (to.kind) {
    case "agents":
      return to.agents.join(", ");
    case "capability":
      return `capability ${to.capability} (${to.mode})`;
    case "topic":
      return `topic ${to.topic}`;
    case "broadcast":
      return to.capability === undefined ? "broadcast" : `broadcast to ${to.capability}`;
  }
}

/**
 * Where the message stands: its recipients' status (one word when they agree, else
 * `bob read, carol delivered`), or the message's own when it reached no one.
 */
function statusOf(m: MessageView): string {
  const entries = Object.entries(m.recipients).map(([agent, state]) => [
    agent,
    state.status.replace("_", " "),
  ]);
  if (entries.length === 0) return m.status?.status.replace("_", " ") ?? "accepted";
  const statuses = new Set(entries.map(([, status]) => status));
  if (statuses.size === 1) return [...statuses][0]!;
  return entries.map(([agent, status]) => `${agent} ${status}`).join(", ");
}
