import { readFile } from "node:fs/promises";
import { Option, type Command } from "commander";
import type { z } from "zod";
import type { NoteHistory, NoteSummary, NoteView, Written } from "../../notes/notes.js";
import { parseInput } from "../../protocol/compose.js";
import { AgentNameSchema } from "../../protocol/envelope.js";
import { MAX_NOTE_TTL_SECONDS, NOTE_HISTORY_VERSIONS } from "../../protocol/note.js";
import { ToolInputs } from "../../protocol/tools.js";
import { plural } from "../../protocol/words.js";
import type { Switchboard } from "../../service/switchboard.js";
import { asOptionError, usageError, withOptionNames } from "../errors.js";
import { globalOptions, integerBetween, nonNegativeInteger, withExamples } from "../options.js";
import { withService } from "../service.js";
import { formatBytes, formatDuration, formatTable } from "../table.js";

/** Who an operator's writes are by, unless `--author` or SWITCHBOARD_AGENT names someone. */
export const OPERATOR_AUTHOR = "operator";

/** The option that sets each field of a notes request, to name it in errors. */
const NOTE_OPTIONS: ReadonlyMap<string, string> = new Map([
  ["key", "KEY"],
  ["content", "--file"],
  ["expected_version", "--expected-version"],
  ["ttl_seconds", "--ttl"],
  ["version", "VERSION"],
  ["prefix", "PREFIX"],
]);

interface JsonOption {
  json?: boolean;
}

interface PutOptions extends JsonOption {
  file?: string;
  author: string;
  expectedVersion?: number;
  ttl?: number;
}

/** `switchboard notes`: the team's shared notes, as agents read and write them. */
export function registerNotes(program: Command): void {
  const notes = program
    .command("notes")
    .description("list, read, write and trace the shared notes agents keep (plans, contracts)");
  notes
    .command("list [prefix]", { isDefault: true })
    .description("list the notes, by key, or those whose key starts with PREFIX (the default)")
    .option("--json", "print {notes, truncated} as JSON")
    .action(listNotes);
  notes
    .command("get <key> [version]")
    .description(
      `print a note's content: its latest version, or an earlier one (the last ${NOTE_HISTORY_VERSIONS} are kept)`,
    )
    .option("--json", "print the version with its author and time as JSON")
    .action(getNote);
  notes
    .command("put <key>")
    .description("write a note's next version, from --file or standard input")
    .option("--file <path>", "read the content from this file (default: standard input)")
    .addOption(
      new Option("--author <name>", "who the version is by")
        .env("SWITCHBOARD_AGENT")
        .default(OPERATOR_AUTHOR),
    )
    .addOption(
      new Option(
        "--expected-version <n>",
        "write only if the note is at this version (0: only if it does not exist)",
      ).argParser(nonNegativeInteger),
    )
    .addOption(
      new Option(
        "--ttl <seconds>",
        `expire the note this long after this write (1-${MAX_NOTE_TTL_SECONDS}); default: keep its expiry`,
      ).argParser(integerBetween(1, MAX_NOTE_TTL_SECONDS)),
    )
    .option("--json", "print {key, version, updated_at, expires_at} as JSON")
    .action(putNote);
  notes
    .command("history <key>")
    .description(`who changed a note and when: its last ${NOTE_HISTORY_VERSIONS} versions`)
    .option("--json", "print the history as JSON")
    .action(showHistory);
  withExamples(notes, [
    "switchboard notes",
    "switchboard notes list plans/ --json",
    "switchboard notes get plans/auth",
    "switchboard notes get plans/auth 2 --json",
    "switchboard notes put plans/auth --file plan.md --expected-version 3",
    "echo 'use JWT' | switchboard notes put decisions/auth",
    "switchboard notes history plans/auth",
  ]);
}

/** Runs a notes request on the service, its errors naming this command's options. */
function withNotes<T>(command: Command, work: (service: Switchboard) => Promise<T>): Promise<T> {
  return withService(globalOptions(command), (service) =>
    withOptionNames(NOTE_OPTIONS, () => work(service)),
  );
}

/** A notes request checked by the tool's schema, before Redis is reached; errors name options. */
function parseNote<N extends "put_note" | "get_note" | "list_notes" | "note_history">(
  name: N,
  value: Record<string, unknown>,
) {
  try {
    return parseInput(ToolInputs[name], value) as z.output<(typeof ToolInputs)[N]>;
  } catch (error) {
    throw asOptionError(error, NOTE_OPTIONS);
  }
}

function print(value: unknown, json: boolean | undefined, text: () => string): void {
  process.stdout.write(json === true ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}

async function listNotes(prefix: string | undefined, options: JsonOption, command: Command) {
  const input = parseNote("list_notes", { prefix });
  const listed = await withNotes(command, (service) => service.notes.list(input.prefix));
  print(listed, options.json, () => formatNotes(listed.notes, listed.truncated, Date.now()));
}

async function getNote(
  key: string,
  version: string | undefined,
  options: JsonOption,
  command: Command,
) {
  const input = parseNote("get_note", {
    key,
    version: version === undefined ? undefined : versionArgument(version),
  });
  const note: NoteView = await withNotes(command, (service) =>
    service.notes.get(input.key, input.version),
  );
  print(note, options.json, () => note.content.replace(/\n$/, ""));
}

async function putNote(key: string, options: PutOptions, command: Command) {
  if (!AgentNameSchema.safeParse(options.author).success) {
    throw usageError(
      `--author '${options.author}' is not an agent name: 1-64 letters, digits, '.', '_' or '-'`,
      "--author",
    );
  }
  const content = await readContent(options.file);
  const input = parseNote("put_note", {
    key,
    content,
    expected_version: options.expectedVersion,
    ttl_seconds: options.ttl,
  });
  const written: Written = await withNotes(command, (service) =>
    service.notes.put(options.author, input),
  );
  print(written, options.json, () => `note ${written.key} is at version ${written.version}`);
}

async function showHistory(key: string, options: JsonOption, command: Command) {
  const input = parseNote("note_history", { key });
  const history = await withNotes(command, (service) => service.notes.history(input.key));
  print(history, options.json, () => formatHistory(history, Date.now()));
}

/** The VERSION argument of `get`: a whole number from 1. */
function versionArgument(value: string): number {
  if (!/^\d{1,15}$/.test(value) || Number(value) < 1) {
    throw usageError(`VERSION '${value}' is not a version: a whole number from 1`, "VERSION");
  }
  return Number(value);
}

/** The content of `put`: a file, or standard input when no file is named. */
async function readContent(file: string | undefined): Promise<string> {
  if (file !== undefined) {
    return readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
      throw usageError(`cannot read --file ${file}: ${error.code ?? error.message}`, "--file");
    });
  }
  if (process.stdin.isTTY === true) {
    throw usageError(
      "give the content with --file PATH, or pipe it in: `cat plan.md | switchboard notes put KEY`",
      "--file",
    );
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

const expiresIn = (expiresAt: string | null, now: number): string =>
  expiresAt === null ? "never" : formatDuration(Date.parse(expiresAt) - now);

export function formatNotes(notes: readonly NoteSummary[], truncated: boolean, now: number) {
  if (notes.length === 0) return "no notes";
  const table = formatTable(
    [
      { header: "key" },
      { header: "version", align: "right" },
      { header: "by" },
      { header: "age", align: "right" },
      { header: "expires", align: "right" },
    ],
    notes.map((n) => [
      n.key,
      String(n.version),
      n.updated_by,
      formatDuration(now - Date.parse(n.updated_at)),
      expiresIn(n.expires_at, now),
    ]),
  );
  return truncated ? `${table}\n(more notes: give a longer PREFIX)` : table;
}

export function formatHistory(history: NoteHistory, now: number): string {
  const table = formatTable(
    [
      { header: "version", align: "right" },
      { header: "by" },
      { header: "at" },
      { header: "age", align: "right" },
      { header: "size", align: "right" },
    ],
    history.versions.map((v) => [
      String(v.version),
      v.updated_by,
      v.updated_at,
      formatDuration(now - Date.parse(v.updated_at)),
      formatBytes(v.bytes),
    ]),
  );
  const kept = plural(history.versions.length, "version");
  return `note ${history.key}: version ${history.version}, ${kept} kept, expires ${expiresIn(history.expires_at, now)}\n${table}`;
}
