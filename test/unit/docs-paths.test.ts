import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * docs/ARCHITECTURE.md is kept true to the code: every path it names must exist. A path is
 * a backquoted `src/…`, `test/…`, `bench/…`, `docs/…`, `examples/…`, `web/…` or `bin/…` (`*` matches
 * within a file name); in the "Where to find" table, a bare name beside one (`send.ts`,
 * `route/`) is a file or folder of a folder the same row named before it.
 */
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DOC = readFileSync(join(ROOT, "docs", "ARCHITECTURE.md"), "utf8");

const ROOTED = /^(src|test|bench|docs|examples|web|bin)\//;
/** A bare file or folder name: `send.ts`, `tools/`, `*-note*.ts`. */
const BARE = /^[\w*.-]+(\.\w+|\/)$/;

const escape = (text: string): string => text.replace(/[.+?^${}()|[\]\\]/g, "\\$&");

/** Whether a path relative to the repository exists; `*` in its last part matches any run. */
function exists(path: string): boolean {
  const last = path.replace(/\/$/, "").split("/").pop()!;
  if (!last.includes("*")) return existsSync(join(ROOT, path));
  const dir = join(ROOT, dirname(path));
  const pattern = new RegExp(`^${last.split("*").map(escape).join(".*")}$`);
  return existsSync(dir) && readdirSync(dir).some((name) => pattern.test(name));
}

const quoted = (text: string): string[] => [...text.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);

/** The lines of the "Where to find" table. */
function table(): string[] {
  const start = DOC.indexOf("## Where to find");
  const section = DOC.slice(start, DOC.indexOf("\n## ", start));
  return section.split("\n").filter((line) => line.startsWith("|"));
}

const isSeparator = (line: string): boolean => /^\|[\s|-]+\|$/.test(line);

describe("docs/ARCHITECTURE.md", () => {
  it("names only paths that exist", () => {
    const named = quoted(DOC).filter((token) => ROOTED.test(token));
    expect(named.length).toBeGreaterThan(50);
    expect(named.filter((path) => !exists(path))).toEqual([]);
  });

  it("has a 'Where to find' table whose one separator is under its header", () => {
    const lines = table();
    expect(lines.length).toBeGreaterThan(20);
    expect(lines.flatMap((line, i) => (isSeparator(line) ? [i] : []))).toEqual([1]);
  });

  it("names beside a path of that table only files and folders of a folder its row named", () => {
    const missing = table()
      .slice(2)
      .flatMap((line) => {
        const cell = line.split("|")[2] ?? "";
        const folders: string[] = [];
        return quoted(cell).flatMap((token) => {
          if (ROOTED.test(token)) {
            folders.push(`${dirname(token)}/`, ...(token.endsWith("/") ? [token] : []));
            return [];
          }
          if (!BARE.test(token)) return [];
          const found = folders.find((folder) => exists(folder + token));
          if (found === undefined) return [`${token} (in: ${cell.trim()})`];
          if (token.endsWith("/")) folders.push(found + token);
          return [];
        });
      });
    expect(missing).toEqual([]);
  });
});
