import { mkdir, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { writeFileAtomically } from "../../config/files.js";
import { SwitchboardError } from "../../protocol/errors.js";
import type { ServerEntry } from "./install-clients.js";
import { renderTable, TomlShapeError, upsertTable } from "./install-toml.js";

/**
 * Merging one server into a client's configuration file: the file's other servers and
 * settings stay as they were, and a file that cannot be read as JSON (or TOML) is refused
 * with the reason, never overwritten.
 */

/** The servers key of Claude Code's and Cursor's files. */
const JSON_SERVERS_KEY = "mcpServers";
/** The servers table of Codex's `config.toml`. */
const TOML_SERVERS_TABLE = "mcp_servers";

/** What the file will hold for the server: JSON for Claude Code and Cursor, a TOML table for Codex. */
export function serverSnippet(format: "json" | "toml", name: string, entry: ServerEntry): string {
  return format === "json"
    ? `${JSON.stringify({ [JSON_SERVERS_KEY]: { [name]: entry } }, null, 2)}\n`
    : renderTable([TOML_SERVERS_TABLE, name], entry);
}

/** The whole file after the merge; `existing` is its text now (undefined: no file yet). */
export function mergeServer(
  format: "json" | "toml",
  file: string,
  existing: string | undefined,
  name: string,
  entry: ServerEntry,
): string {
  if (format === "toml") {
    const table = serverSnippet("toml", name, entry);
    if (existing === undefined) return table;
    try {
      return upsertTable(existing, [TOML_SERVERS_TABLE, name], table);
    } catch (error) {
      if (!(error instanceof TomlShapeError)) throw error;
      throw refused(file, `is not a TOML file this command can merge into (${error.message})`);
    }
  }
  const document = parseJsonObject(file, existing);
  const servers = document[JSON_SERVERS_KEY] ?? {};
  if (!isObject(servers)) {
    throw refused(file, `has "${JSON_SERVERS_KEY}" that is not an object`);
  }
  document[JSON_SERVERS_KEY] = { ...servers, [name]: entry };
  return `${JSON.stringify(document, null, 2)}\n`;
}

function parseJsonObject(file: string, text: string | undefined): Record<string, unknown> {
  if (text === undefined || text.trim() === "") return {};
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw refused(file, `is not valid JSON (${(error as Error).message})`);
  }
  if (!isObject(document)) throw refused(file, "is JSON, but not an object");
  return document;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function refused(file: string, why: string): SwitchboardError {
  return new SwitchboardError(
    "CONFIG",
    `${file} ${why}; nothing was written. Fix or move the file and run again, ` +
      "or use --print to see what to add by hand",
  );
}

/**
 * Writes a client's configuration file whole or not at all, keeping its mode;
 * a new file is readable by its owner only, since it may hold a token.
 */
export async function writeConfigFile(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const mode = await stat(file).then(
    (stats) => stats.mode & 0o777,
    () => 0o600,
  );
  await writeFileAtomically(file, text, mode);
}
