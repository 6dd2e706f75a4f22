import { createInterface } from "node:readline/promises";
import { Option, type Command } from "commander";
import {
  addUp,
  describeMissing,
  noPurges,
  type PurgeResult,
  type ReplayResult,
} from "../../dlq/results.js";
import { showDeadLetter, shownJson } from "../../dlq/show.js";
import { DeadLetters, DEFAULT_LIST_LIMIT } from "../../dlq/store.js";
import { SwitchboardError } from "../../protocol/errors.js";
import { usageError } from "../errors.js";
import { MAX_DLQ_LIMIT } from "../../protocol/tools.js";
import { globalOptions, integerBetween, withExamples } from "../options.js";
import { ProgressBar } from "../progress.js";
import { noteUnusedPrefix } from "../presence.js";
import { withRuntime } from "../runtime.js";
import {
  deadLetters,
  formatDeadLetter,
  formatList,
  formatNamedBy,
  formatReplayed,
  formatResolution,
  formatTally,
} from "./dlq-format.js";
import {
  filterOf,
  selection,
  withFilters,
  type ActOptions,
  type FilterOptions,
} from "./dlq-options.js";

interface ListOptions extends FilterOptions {
  limit: number;
  after?: string;
  json?: boolean;
}

/** `switchboard dlq`: list, show, replay and purge dead letters. */
export function registerDlq(program: Command): void {
  const dlq = program
    .command("dlq")
    .description("list, show, replay and purge dead letters: what gave up after its retries");
  withExamples(dlq, [
    "switchboard dlq list --agent bob --newer-than 1h",
    "switchboard dlq show 1732430000000-0",
    "switchboard dlq show 019ab5a4-7c1e-7d2a-9a1b-3c4d5e6f7a8b   # a message id: each of its dead letters",
    "switchboard dlq show p2:1732430000000-0   # with `partitions: N` above 1, ids name their partition",
    "switchboard dlq replay 1732430000000-0",
    "switchboard dlq replay --all --code WEBHOOK_TIMEOUT --older-than 10m",
    "switchboard dlq purge --all --stage validate --yes",
  ]);
  const list = withFilters(
    dlq
      .command("list", { isDefault: true })
      .description("list dead letters, newest first (the default)"),
  )
    .addOption(
      new Option("--limit <n>", `how many at most (1-${MAX_DLQ_LIMIT})`)
        .argParser(integerBetween(1, MAX_DLQ_LIMIT))
        .default(DEFAULT_LIST_LIMIT),
    )
    .option("--after <id>", "the page after this id (the last one shown)")
    .option("--json", "print {dead_letters, next_cursor, depth}")
    .action(listDeadLetters);
  withExamples(list, ["switchboard dlq list --stage deliver --code WEBHOOK_TIMEOUT --json"]);

  const show = dlq
    .command("show <id>")
    .description(
      "show a dead letter in full: the error, every attempt, the message; a message id shows each of its dead letters",
    )
    .option("--json", "print one JSON object")
    .action(showOne);
  withExamples(show, ["switchboard dlq show 1732430000000-0"]);

  const replay = withFilters(
    dlq
      .command("replay [ids...]")
      .description(
        "put dead letters back into the stage they died in, once each; dead-letter or message ids, or --all with filters",
      ),
  )
    .option("--all", "every dead letter matching the filters")
    .option("--json", "print the results as JSON")
    .action(replayDeadLetters);
  withExamples(replay, [
    "switchboard dlq replay 1732430000000-0 1732430000012-0",
    "switchboard dlq replay 019ab5a4-7c1e-7d2a-9a1b-3c4d5e6f7a8b   # every dead letter of a message",
    "switchboard dlq replay --all --agent bob",
  ]);

  const purge = withFilters(
    dlq
      .command("purge [ids...]")
      .description(
        "delete dead letters for good; dead-letter or message ids, or --all with filters",
      ),
  )
    .option("--all", "every dead letter matching the filters")
    .option("--yes", "do not ask (required when stdin is not a terminal)")
    .option("--json", "print the results as JSON")
    .action(purgeDeadLetters);
  withExamples(purge, [
    "switchboard dlq purge 1732430000000-0 --yes",
    "switchboard dlq purge --all --older-than 7d --yes",
  ]);
}

/**
 * Opens a runtime, runs `work` on its dead-letter store, and closes it. A read-only use
 * (list, show) says first when no Switchboard has run under the prefix.
 */
function withStore<T>(
  command: Command,
  work: (store: DeadLetters) => Promise<T>,
  readOnly = false,
): Promise<T> {
  return withRuntime(globalOptions(command), async (runtime) => {
    if (readOnly) await noteUnusedPrefix(runtime);
    return work(new DeadLetters(runtime.redis, runtime.keys, runtime.pipeline));
  });
}

const print = (text: string): void => void process.stdout.write(`${text}\n`);
const printJson = (value: unknown): void => print(JSON.stringify(value, null, 2));

async function listDeadLetters(options: ListOptions, command: Command): Promise<void> {
  const now = Date.now();
  const [page, depth] = await withStore(
    command,
    (store) =>
      Promise.all([
        store.list(filterOf(options), { limit: options.limit, after: options.after, now }),
        store.depth(),
      ]),
    true,
  );
  if (options.json === true) printJson({ ...page, depth });
  else print(formatList(page, depth, now));
}

async function showOne(id: string, options: { json?: boolean }, command: Command): Promise<void> {
  const shown = await withStore(command, (store) => showDeadLetter(store, id), true);
  if (shown === undefined) throw notFound([id]);
  if (options.json === true) printJson(shownJson(shown));
  else if (shown.kind === "dead_letter") print(formatDeadLetter(shown.dead_letter, Date.now()));
  else {
    const now = Date.now();
    const { dead_letters: found, replayed } = shown;
    print(
      [formatResolution(id, found, replayed), ...found.map((d) => formatDeadLetter(d, now))].join(
        "\n\n",
      ),
    );
  }
}

async function replayDeadLetters(
  ids: string[],
  options: ActOptions,
  command: Command,
): Promise<void> {
  const filter = selection(ids, options);
  await withStore(command, async (store) => {
    if (filter === undefined) {
      const results = await store.replay(ids);
      if (options.json === true) printJson({ results });
      else if (results.some((r) => r.result.endsWith("replayed"))) {
        print([...formatNamedBy(results), formatReplayed(results)].join("\n"));
      }
      failOnMissing(results);
      return;
    }
    const now = Date.now();
    const total = await store.count(filter, now);
    if (total === 0) {
      print("no dead letters match; nothing replayed");
      return;
    }
    const progress = new ProgressBar(process.stderr, total, "dead letter");
    let tally;
    try {
      tally = await store.replayAll(
        filter,
        (t) => progress.update({ items: t.replayed, done: sum(t) }),
        now,
      );
    } finally {
      progress.finish();
    }
    if (options.json === true) printJson(tally);
    else print(formatTally("replayed", tally));
  });
}

async function purgeDeadLetters(
  ids: string[],
  options: ActOptions,
  command: Command,
): Promise<void> {
  const filter = selection(ids, options);
  await withStore(command, async (store) => {
    const now = Date.now();
    const selected =
      filter === undefined
        ? (await store.resolve(ids)).reduce((n, r) => n + r.dead_letters.length, 0)
        : await store.count(filter, now);
    if (selected === 0 && filter !== undefined) {
      print("no dead letters match; nothing purged");
      return;
    }
    const ask = selected > 0 && options.yes !== true;
    if (ask && !(await confirm(`purge ${deadLetters(selected)} for good?`))) {
      print("nothing purged");
      return;
    }
    if (filter === undefined) {
      const results = await store.purge(ids);
      if (options.json === true) printJson({ results });
      else {
        print(
          [...formatNamedBy(results), formatTally("purged", addUp(noPurges(), results))].join("\n"),
        );
      }
      failOnMissing(results);
      return;
    }
    const tally = await store.purgeAll(filter, undefined, now);
    if (options.json === true) printJson(tally);
    else print(formatTally("purged", tally));
  });
}

function notFound(ids: readonly string[]): SwitchboardError {
  return new SwitchboardError(
    "NOT_FOUND",
    `${describeMissing(ids)} (replayed or purged already, trimmed, or mistyped); list ids with \`switchboard dlq list\``,
  );
}

/** After printing what worked: an error naming the ids that were not there (or cannot be replayed). */
function failOnMissing(results: readonly (ReplayResult | PurgeResult)[]): void {
  const unreplayable = results.filter((r) => r.result === "unreplayable");
  for (const r of unreplayable) {
    const reason = "reason" in r ? `: ${r.reason}` : "";
    process.stderr.write(`switchboard: cannot replay ${r.id}${reason}; purge it\n`);
  }
  const missing = results.filter((r) => r.result === "not_found").map((r) => r.id);
  if (missing.length > 0) throw notFound(missing);
  if (unreplayable.length > 0) process.exitCode = 1;
}

function sum(tally: Record<string, number>): number {
  return Object.values(tally).reduce((a, b) => a + b, 0);
}

/** Asks on the terminal; refuses (a usage error naming --yes) when there is none. */
async function confirm(question: string): Promise<boolean> {
  if (process.stdin.isTTY !== true || process.stderr.isTTY !== true) {
    throw usageError(
      "purge deletes dead letters for good: add --yes to confirm (stdin is not a terminal, so there is no one to ask)",
      "--yes",
    );
  }
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await prompt.question(`${question} [y/N] `)).trim());
  } finally {
    prompt.close();
  }
}
