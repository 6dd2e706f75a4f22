import type { DeadLetterSummary } from "../../dlq/entry.js";
import { namedByMessage, type ReplayResult, type Tally } from "../../dlq/results.js";
import type { DeadLetter, DeadLetterPage } from "../../dlq/store.js";
import { formatDuration, formatTable, truncate } from "../table.js";
import { formatCount, plural } from "../../protocol/words.js";

/** Text output of `switchboard dlq`: tables, one dead letter in full, results of bulk actions. */

/** `1 dead letter`, `1,200 dead letters`. */
export function deadLetters(n: number): string {
  return plural(n, "dead letter");
}

/** `alice → bob`, `→ bob`, `alice`, or `-`. */
function agentsOf(d: DeadLetterSummary): string {
  if (d.recipient === undefined) return d.from ?? "-";
  return `${d.from ?? ""} → ${d.recipient}`.trim();
}

export function formatList(page: DeadLetterPage, depth: number, now: number): string {
  if (page.dead_letters.length === 0) {
    return depth === 0 ? "(no dead letters)" : `(none match; ${formatCount(depth)} in the store)`;
  }
  const table = formatTable(
    [
      { header: "id" },
      { header: "age", align: "right" },
      { header: "stage" },
      { header: "code" },
      { header: "agents" },
      { header: "attempts", align: "right" },
      { header: "error" },
    ],
    page.dead_letters.map((d) => [
      d.id,
      formatDuration(now - Date.parse(d.at)),
      d.stage,
      d.code,
      agentsOf(d),
      String(d.attempts),
      truncate(d.error, 60),
    ]),
  );
  const shown = `${page.dead_letters.length} shown, newest first; ${formatCount(depth)} in the store`;
  const more = page.next_cursor === null ? "" : `; next page: --after ${page.next_cursor}`;
  return `${table}\n${shown}${more}`;
}

export function formatDeadLetter(d: DeadLetter, now: number): string {
  const lines: [string, string | undefined][] = [
    ["dead letter", `${d.id} (${formatDuration(now - Date.parse(d.at))} ago)`],
    ["message", d.message_id],
    ["agents", agentsOf(d)],
    ["stage", d.source_id === undefined ? d.stage : `${d.stage} (entry ${d.source_id})`],
    ["error", `${d.code} (${d.category}): ${d.why.message}`],
    ["field", d.why.field],
    ["attempts", String(d.attempts)],
    ["first failure", d.first_failure_at],
    ["last failure", d.last_failure_at],
    ["trace", d.trace_id],
    [
      "entry",
      Object.entries(d.original)
        .map(([name, value]) => `${name}=${truncate(value, 60)}`)
        .join(" "),
    ],
  ];
  const out = lines
    .filter((line): line is [string, string] => line[1] !== undefined)
    .map(([name, value]) => `${name.padEnd(15)}${value}`);
  if (d.history.length > 0) {
    out.push(
      "",
      "attempts:",
      formatTable(
        [{ header: "at" }, { header: "code" }, { header: "message" }],
        d.history.map((a) => [a.at, a.code, truncate(a.message, 80)]),
      ),
    );
  }
  out.push(
    "",
    d.envelope === undefined
      ? "envelope: (gone: neither the dead letter nor a message record holds it)"
      : `envelope:\n${JSON.stringify(d.envelope, null, 2)}`,
  );
  return out.join("\n");
}

/** `message M: 2 dead letters, A and B (replayed already: C)`: what `dlq show M` shows. */
export function formatResolution(
  messageId: string,
  found: readonly DeadLetterSummary[],
  replayed: readonly string[],
): string {
  const again = replayed.length === 0 ? "" : ` (replayed already: ${replayed.join(", ")})`;
  return `message ${messageId}: ${deadLetters(found.length)}${found.length === 0 ? "" : `, ${found.map((d) => d.id).join(", ")}`}${again}`;
}

/** `message M: dead letters A, B`, once per message id given that named some; else nothing. */
export function formatNamedBy(
  results: readonly { id: string; message_id?: string | undefined }[],
): string[] {
  return [...namedByMessage(results)].map(
    ([message, ids]) => `message ${message}: dead letters ${ids.join(", ")}`,
  );
}

/** One line per dead letter that was replayed or had been. */
export function formatReplayed(results: readonly ReplayResult[]): string {
  return results
    .flatMap((r) => {
      switch (r.result) {
        case "replayed":
          return [`replayed ${r.id} as entry ${r.entry_id}`];
        case "already_replayed":
          return [`${r.id} was replayed already, at ${r.replayed_at} as entry ${r.entry_id}`];
        default:
          return [];
      }
    })
    .join("\n");
}

/** `replayed 12, already_replayed 0, …` with the counts that are not zero (or the first). */
export function formatTally(verb: string, tally: Tally<string>): string {
  const [first, ...rest] = Object.entries(tally);
  const parts = rest.filter(([, n]) => n > 0).map(([what, n]) => `${formatCount(n)} ${what}`);
  const head = `${verb} ${deadLetters(first?.[1] ?? 0)}`;
  return parts.length === 0 ? head : `${head} (${parts.join(", ").replace(/_/g, " ")})`;
}
