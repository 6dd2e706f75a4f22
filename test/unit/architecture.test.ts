import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/** Keeps the layers honest: what each folder of src/ may import. */
const SRC = fileURLToPath(new URL("../../src", import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith(".ts")
        ? [join(dir, entry.name)]
        : [],
  );
}

const files = sources(SRC).map((path) => ({
  name: relative(SRC, path),
  text: readFileSync(path, "utf8"),
  imports: [...readFileSync(path, "utf8").matchAll(/^import[^;]*?from\s+"([^"]+)"/gms)].map(
    (m) => m[1]!,
  ),
}));

function importsOf(folder: string) {
  return files
    .filter((f) => f.name.startsWith(`${folder}/`))
    .flatMap((f) => f.imports.map((i) => ({ file: f.name, module: i })));
}

describe("layering", () => {
  it("keeps protocol/ free of I/O: only zod, node:crypto, node:zlib and itself", () => {
    const allowed = /^(zod|node:crypto|node:zlib|\.\/.*)$/;
    expect(importsOf("protocol").filter((i) => !allowed.test(i.module))).toEqual([]);
  });

  it("keeps the stage runner unaware of the stages, the CLI and MCP", () => {
    const forbidden = /stages\/|cli\/|mcp\/|@modelcontextprotocol/;
    expect(importsOf("pipeline").filter((i) => forbidden.test(i.module))).toEqual([]);
  });

  it("keeps stages away from the CLI and the MCP SDK", () => {
    const forbidden = /cli\/|mcp\/|@modelcontextprotocol/;
    expect(importsOf("stages").filter((i) => forbidden.test(i.module))).toEqual([]);
  });

  it("keeps health/, http/ and telemetry/ out of the CLI and MCP: every process shares them", () => {
    const forbidden = /cli\/|mcp\/|@modelcontextprotocol/;
    const imports = [...importsOf("health"), ...importsOf("http"), ...importsOf("telemetry")];
    expect(imports.filter((i) => forbidden.test(i.module))).toEqual([]);
  });

  it("keeps http/ to Node, telemetry and error codes: it serves bytes, not the bus", () => {
    const allowed = /^(node:.*|\.\.\/telemetry\/.*|\.\.\/protocol\/errors\.js|\.\/.*)$/;
    expect(importsOf("http").filter((i) => !allowed.test(i.module))).toEqual([]);
  });

  it("keeps telemetry/ free of Redis: recording a metric is never I/O", () => {
    const forbidden = /redis\/|ioredis|health\//;
    expect(importsOf("telemetry").filter((i) => forbidden.test(i.module))).toEqual([]);
  });

  it("builds every Redis key in redis/keys.ts", () => {
    const hashTag = /[`"'][^`"'\n]*:\{/;
    expect(
      files.filter((f) => f.name !== "redis/keys.ts" && hashTag.test(f.text)).map((f) => f.name),
    ).toEqual([]);
  });
});
