import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { z } from "zod";

/**
 * The package is ready to publish: package.json's entry points, files and scripts, and
 * server.json, its entry in the official MCP registry (the fields the registry requires,
 * the same name and version as the package). The packed tarball itself is installed and
 * started by test/e2e/package.test.ts.
 */
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const readJson = (file: string): unknown => JSON.parse(readFileSync(join(ROOT, file), "utf8"));

const PackageSchema = z.object({
  name: z.string(),
  version: z.string(),
  mcpName: z.string(),
  bin: z.record(z.string(), z.string()),
  types: z.string(),
  exports: z.object({ ".": z.object({ types: z.string(), import: z.string() }) }),
  files: z.array(z.string()),
  scripts: z.record(z.string(), z.string()),
  engines: z.object({ node: z.string() }),
});

const ArgumentSchema = z.object({
  type: z.enum(["positional", "named"]),
  name: z.string().optional(),
  value: z.string().optional(),
  isRequired: z.boolean().optional(),
});

/** The fields of the registry's server.json schema (2025-12-11) that Switchboard uses. */
const ServerJsonSchema = z.object({
  $schema: z
    .string()
    .regex(
      /^https:\/\/static\.modelcontextprotocol\.io\/schemas\/\d{4}-\d{2}-\d{2}\/server\.schema\.json$/,
    ),
  name: z
    .string()
    .min(3)
    .max(200)
    .regex(/^io\.github\.[A-Za-z0-9-]+\/[a-zA-Z0-9._-]+$/),
  description: z.string().min(1).max(100),
  version: z.string().regex(/^\d+\.\d+\.\d+(-[\w.]+)?$/),
  packages: z
    .array(
      z.object({
        registryType: z.literal("npm"),
        registryBaseUrl: z.literal("https://registry.npmjs.org").optional(),
        identifier: z.string(),
        version: z.string(),
        runtimeHint: z.string().optional(),
        transport: z.object({ type: z.literal("stdio") }),
        packageArguments: z.array(ArgumentSchema),
        environmentVariables: z.array(
          z.object({ name: z.string(), isSecret: z.boolean().optional(), description: z.string() }),
        ),
      }),
    )
    .length(1),
});

const pkg = PackageSchema.parse(readJson("package.json"));
const server = ServerJsonSchema.parse(readJson("server.json"));

describe("server.json", () => {
  it("has package.json's version, and names the package and its mcpName", () => {
    const [npm] = server.packages;
    expect(server.version).toBe(pkg.version);
    expect(npm!.version).toBe(pkg.version);
    expect(npm!.identifier).toBe(pkg.name);
    expect(server.name).toBe(pkg.mcpName);
  });

  it("starts `switchboard stdio --agent NAME`, with the token and Redis from the environment", () => {
    const [npm] = server.packages;
    expect(npm!.packageArguments[0]).toEqual({ type: "positional", value: "stdio" });
    expect(npm!.packageArguments[1]).toMatchObject({
      type: "named",
      name: "--agent",
      isRequired: true,
    });
    const variables = new Map(npm!.environmentVariables.map((v) => [v.name, v]));
    expect(variables.get("SWITCHBOARD_TOKEN")?.isSecret).toBe(true);
    expect(variables.has("REDIS_URL")).toBe(true);
  });
});

describe("package.json", () => {
  it("exports the built module with its declarations, which the build emits", () => {
    expect(pkg.exports["."]).toEqual({ types: "./dist/index.d.ts", import: "./dist/index.js" });
    expect(pkg.types).toBe(pkg.exports["."].types);
    const build = readJson("tsconfig.build.json") as { compilerOptions: { declaration?: boolean } };
    const base = readJson("tsconfig.json") as { compilerOptions: { declaration?: boolean } };
    expect(build.compilerOptions.declaration ?? base.compilerOptions.declaration).toBe(true);
    // dist/ is built by the global setup of the tests.
    expect(existsSync(join(ROOT, "dist", "index.d.ts"))).toBe(true);
    expect(existsSync(join(ROOT, "dist", "index.js"))).toBe(true);
  });

  it("ships bin, dist and the default pipeline; the bin exists", () => {
    expect(pkg.files).toEqual(expect.arrayContaining(["bin", "dist", "pipelines"]));
    expect(pkg.bin.switchboard).toBe("bin/switchboard.js");
    expect(existsSync(join(ROOT, pkg.bin.switchboard!))).toBe(true);
  });

  it("builds when packed, not when installed: no script runs (or is flagged) at install", () => {
    expect(pkg.scripts.prepack).toBe("npm run build");
    for (const script of ["prepare", "preinstall", "install", "postinstall"]) {
      expect(pkg.scripts, script).not.toHaveProperty(script);
    }
    // A fresh clone's `npm ci && npm start` still builds first.
    expect(pkg.scripts.prestart).toBe("npm run build");
  });
});
