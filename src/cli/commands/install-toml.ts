/**
 * Just enough TOML for `switchboard install codex`: write one table (`[mcp_servers.NAME]`)
 * and put it into an existing `config.toml` in place of an older one, leaving every other
 * byte of the file as it was. Not a TOML parser: the file is read line by line, tracking
 * strings, arrays and inline tables, so that a table header is found only where it is one,
 * and a file that is not TOML in its structure (a line that is neither `key = value` nor a
 * `[table]` header, an unclosed string or bracket) is refused rather than rewritten.
 */

/** Why a file cannot be merged, with the line it happened on (1-based). */
export class TomlShapeError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
    this.name = "TomlShapeError";
  }
}

const BARE_KEY = /^[A-Za-z0-9_-]+$/;

/** A key as TOML writes it: bare when it can be, quoted otherwise. */
export function tomlKey(key: string): string {
  return BARE_KEY.test(key) ? key : tomlString(key);
}

/** A basic string: JSON's escapes are TOML's, except that DEL must be escaped too. */
export function tomlString(value: string): string {
  return JSON.stringify(value).replace(/\x7f/g, "\\u007F");
}

/** A value: strings, finite numbers, booleans, arrays of them and inline tables. */
export function tomlValue(value: unknown): string {
  if (typeof value === "string") return tomlString(value);
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return `[${value.map(tomlValue).join(", ")}]`;
  if (typeof value === "object" && value !== null) {
    const pairs = Object.entries(value).map(([k, v]) => `${tomlKey(k)} = ${tomlValue(v)}`);
    return pairs.length === 0 ? "{}" : `{ ${pairs.join(", ")} }`;
  }
  throw new TypeError(`no TOML form for ${typeof value}`);
}

/** `[a.b]` and the `key = value` lines of `entries`, ending with a newline. */
export function renderTable(path: readonly string[], entries: Record<string, unknown>): string {
  const lines = [`[${path.map(tomlKey).join(".")}]`];
  for (const [key, value] of Object.entries(entries)) {
    lines.push(`${tomlKey(key)} = ${tomlValue(value)}`);
  }
  return `${lines.join("\n")}\n`;
}

interface Statement {
  kind: "header" | "pair";
  /** The header's key path, or the pair's key path (relative to its table). */
  key: string[];
  /** Index of its first line, and of the line after its last (a value may span lines). */
  start: number;
  end: number;
}

/**
 * Puts `table` (from {@link renderTable}) at `path` into `text`: where the old table of that
 * path (and its sub-tables) stood, or at the end. Throws {@link TomlShapeError} when the file
 * is not TOML in its structure, or defines the table in a form that cannot be replaced
 * line-wise (dotted keys, or an inline table of it or of a parent).
 */
export function upsertTable(text: string, path: readonly string[], table: string): string {
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const lines = text.split(/\r?\n/);
  const removed = new Set<number>();
  let insertAt = -1;
  let current: string[] = [];
  let ours = false;
  for (const statement of scan(lines)) {
    if (statement.kind === "header") {
      current = statement.key;
      ours = startsWith(statement.key, path);
      if (ours && insertAt === -1) insertAt = statement.start;
    } else if (!ours && overlaps([...current, ...statement.key], path)) {
      throw new TomlShapeError(
        statement.start + 1,
        `[${path.join(".")}] is defined here as dotted keys or an inline table; ` +
          "make it a [table] of its own or remove it, then run again",
      );
    }
    if (!ours) continue;
    let end = statement.end;
    while (end < lines.length && lines[end]!.trim() === "") end++; // and the blank lines after it
    for (let line = statement.start; line < end; line++) removed.add(line);
  }
  const body = table.trimEnd().split("\n");
  const kept: string[] = [];
  for (const [index, line] of lines.entries()) {
    if (index === insertAt) kept.push(...body, "");
    if (!removed.has(index)) kept.push(line);
  }
  while (kept.length > 0 && kept.at(-1)!.trim() === "") kept.pop();
  if (insertAt === -1) kept.push(...(kept.length > 0 ? ["", ...body] : body));
  return `${kept.join(eol)}${eol}`;
}

function startsWith(key: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length <= key.length && prefix.every((part, i) => key[i] === part);
}

/** One key path is a prefix of the other: defining one defines (part of) the other. */
function overlaps(a: readonly string[], b: readonly string[]): boolean {
  return startsWith(a, b) || startsWith(b, a);
}

/** The statements of a file, with the lines each spans; throws on what is not TOML. */
function scan(lines: readonly string[]): Statement[] {
  const statements: Statement[] = [];
  const state: ValueState = { depth: 0, multiline: undefined };
  let open: Statement | undefined;
  for (const [index, raw] of lines.entries()) {
    if (open !== undefined) {
      continueValue(raw, state, index + 1);
    } else {
      open = statementAt(raw, index, state);
      if (open !== undefined) statements.push(open);
    }
    if (open !== undefined && state.depth === 0 && state.multiline === undefined) {
      open.end = index + 1;
      open = undefined;
    }
  }
  if (state.multiline !== undefined) {
    throw new TomlShapeError(
      lines.length,
      `a multi-line string (${state.multiline}) is not closed`,
    );
  }
  if (state.depth > 0) throw new TomlShapeError(lines.length, "an array or table is not closed");
  return statements;
}

/** The statement that starts on a line, if any (not on a blank or comment line). */
function statementAt(raw: string, index: number, state: ValueState): Statement | undefined {
  const line = raw.trim();
  if (line === "" || line.startsWith("#")) return undefined;
  if (line.startsWith("[")) {
    const match = /^(\[\[?)(.*?)(\]\]?)\s*(#.*)?$/.exec(line);
    if (match === null || match[1]!.length !== match[3]!.length) {
      throw new TomlShapeError(index + 1, "a table header must look like [name] or [[name]]");
    }
    const key = parseKey(match[2]!, index + 1);
    return { kind: "header", key, start: index, end: index + 1 };
  }
  const equals = keyEnd(line, index + 1);
  const value = line.slice(equals + 1).trim();
  if (value === "" || value.startsWith("#")) {
    throw new TomlShapeError(index + 1, "expected a value after `=`");
  }
  const key = parseKey(line.slice(0, equals), index + 1);
  continueValue(value, state, index + 1);
  return { kind: "pair", key, start: index, end: index + 1 };
}

/** Where the `=` after a key is; throws when the line is not `key = value`. */
function keyEnd(line: string, lineNumber: number): number {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote !== undefined) {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "=") return i;
  }
  throw new TomlShapeError(lineNumber, "expected `key = value`, a [table] header or a # comment");
}

/** `a."b.c" . d` → ["a", "b.c", "d"]; throws on what is not a key. */
function parseKey(text: string, lineNumber: number): string[] {
  const parts: string[] = [];
  const pattern = /\s*(?:([A-Za-z0-9_-]+)|"((?:[^"\\]|\\.)*)"|'([^']*)')\s*(\.|$)/y;
  let match: RegExpExecArray | null;
  while (pattern.lastIndex < text.length && (match = pattern.exec(text)) !== null) {
    const quoted = match[2];
    parts.push(
      match[1] ?? (quoted === undefined ? match[3]! : (JSON.parse(`"${quoted}"`) as string)),
    );
    if (match[4] === "") break;
  }
  if (parts.length === 0 || pattern.lastIndex < text.trimEnd().length) {
    throw new TomlShapeError(lineNumber, `\`${text.trim()}\` is not a TOML key`);
  }
  return parts;
}

interface ValueState {
  /** Open `[` and `{` not yet closed. */
  depth: number;
  /** The delimiter of an open multi-line string. */
  multiline: '"""' | "'''" | undefined;
}

/** Reads (part of) a value, tracking strings and brackets across lines. */
function continueValue(text: string, state: ValueState, lineNumber: number): void {
  let i = 0;
  while (i < text.length) {
    if (state.multiline !== undefined) {
      const close = findClose(text, i, state.multiline);
      if (close === -1) return;
      i = close + 3;
      state.multiline = undefined;
      continue;
    }
    const c = text[i]!;
    if (c === "#") return;
    if (text.startsWith('"""', i) || text.startsWith("'''", i)) {
      state.multiline = text.slice(i, i + 3) as '"""' | "'''";
      i += 3;
    } else if (c === '"' || c === "'") {
      i = closeQuote(text, i, lineNumber);
    } else {
      if (c === "[" || c === "{") state.depth++;
      if (c === "]" || c === "}") state.depth--;
      if (state.depth < 0) throw new TomlShapeError(lineNumber, `unexpected \`${c}\``);
      i++;
    }
  }
}

/** The index of the closing `"""`/`'''` at or after `from` (escapes honoured), or -1. */
function findClose(text: string, from: number, delimiter: '"""' | "'''"): number {
  for (let i = from; i < text.length; i++) {
    if (delimiter === '"""' && text[i] === "\\") i++;
    else if (text.startsWith(delimiter, i)) return i;
  }
  return -1;
}

/** The index after the string that opens at `start`; throws when it does not close. */
function closeQuote(text: string, start: number, lineNumber: number): number {
  const quote = text[start]!;
  for (let i = start + 1; i < text.length; i++) {
    if (quote === '"' && text[i] === "\\") i++;
    else if (text[i] === quote) return i + 1;
  }
  throw new TomlShapeError(lineNumber, "a string is not closed on its line");
}
