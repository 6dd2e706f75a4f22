import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * docs/agents.md shows the SDK clients as excerpts of examples/sdk-v2.ts and sdk-v1.ts,
 * which CI runs against a real server (test/e2e/sdk-examples.test.ts): the code between an
 * example's `// #region client` and `// #endregion` must appear in the doc as it is, in a
 * ```ts block, so the two cannot drift apart.
 */
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DOC = readFileSync(join(ROOT, "docs", "agents.md"), "utf8");

function region(file: string): string {
  const text = readFileSync(join(ROOT, "examples", file), "utf8");
  const start = text.indexOf("// #region client\n");
  const end = text.indexOf("// #endregion", start);
  expect(start, `${file} has a // #region client`).toBeGreaterThanOrEqual(0);
  expect(end, `${file} has a // #endregion`).toBeGreaterThan(start);
  return text.slice(start + "// #region client\n".length, end).trimEnd();
}

describe("docs/agents.md's SDK snippets", () => {
  it.each(["sdk-v2.ts", "sdk-v1.ts"])("show examples/%s as it is", (file) => {
    const code = region(file);
    expect(code).toContain("callTool(");
    expect(DOC).toContain(`\`\`\`ts\n${code}\n\`\`\``);
  });

  it("show v1 passing the options third and v2 second", () => {
    expect(region("sdk-v1.ts")).toMatch(/undefined,[^\n]*\n\s*\{ timeout: 90_000 \}/);
    expect(region("sdk-v1.ts")).not.toMatch(/\},\n\s*\{ timeout/);
    expect(region("sdk-v2.ts")).toMatch(/\},\n\s*\{ timeout: 90_000 \}/);
  });
});
