import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

/**
 * Keeps the layers honest. A unit is a folder of src/ (or a file at its top); its row says
 * which units it may import, and, where it matters, which packages. The order, lowest first:
 *
 *   protocol, version.ts → config → telemetry → redis → streams → history, webhook → agents
 *   → inbox, dlq, failures, ingress, notes → pipeline → retry → stages → service → http → health
 *   → api → console → mcp → app → cli; client (above protocol and http) → index.ts
 *
 * The runner (pipeline/) sees failures, retries and webhooks only through the interfaces
 * of `pipeline/ports.ts` and `pipeline/stage.ts`; app/ wires the implementations in.
 */
interface Rule {
  /** The units it may import (its own files always). */
  units: readonly string[];
  /** The packages it may import (`name`, or `prefix*`); any dependency when absent. */
  packages?: readonly string[];
}

const LAYERS: Readonly<Record<string, Rule>> = {
  protocol: { units: [], packages: ["zod", "node:crypto", "node:zlib"] },
  "version.ts": { units: [], packages: ["zod", "node:fs"] },
  config: { units: ["protocol"] },
  telemetry: {
    units: ["protocol", "config"],
    packages: ["node:*", "@opentelemetry/*", "pino", "prom-client"],
  },
  redis: { units: ["protocol", "config"] },
  streams: { units: ["protocol", "config", "redis"] },
  history: { units: ["protocol", "config", "redis"] },
  webhook: { units: ["protocol", "config", "redis"] },
  agents: { units: ["protocol", "config", "redis", "streams", "webhook"] },
  leases: { units: ["protocol", "redis"] },
  inbox: { units: ["protocol", "config", "telemetry", "redis", "streams", "history", "agents"] },
  dlq: { units: ["protocol", "config", "redis", "streams", "history"] },
  failures: { units: ["protocol", "config", "telemetry", "redis", "streams", "history"] },
  ingress: { units: ["protocol", "config", "telemetry", "redis", "streams", "history"] },
  notes: { units: ["protocol", "redis"] },
  loops: {
    units: [
      ...["protocol", "config", "telemetry", "redis", "streams", "history"],
      ...["failures", "ingress"],
    ],
  },
  pipeline: { units: ["protocol", "config", "telemetry", "redis", "streams", "history"] },
  retry: { units: ["protocol", "config", "telemetry", "redis", "streams", "history", "pipeline"] },
  stages: {
    units: [
      ...["protocol", "config", "telemetry", "redis", "streams", "history"],
      ...["webhook", "agents", "inbox", "pipeline", "retry"],
    ],
  },
  service: {
    units: [
      ...["protocol", "config", "telemetry", "redis", "history"],
      ...["agents", "inbox", "dlq", "ingress", "leases", "notes", "loops"],
    ],
  },
  http: { units: ["protocol", "telemetry"], packages: ["node:*"] },
  health: {
    units: [
      ...["protocol", "config", "telemetry", "redis", "streams", "webhook", "pipeline", "retry"],
      "http",
    ],
  },
  api: { units: ["version.ts", "protocol", "telemetry", "service", "http"] },
  console: {
    units: [
      ...["protocol", "config", "telemetry", "redis", "history", "agents", "dlq", "failures"],
      ...["service", "http", "health", "api"],
    ],
  },
  mcp: {
    units: [
      ...["version.ts", "protocol", "config", "telemetry", "inbox", "dlq"],
      ...["service", "http", "health", "api", "console"],
    ],
  },
  app: {
    units: [
      ...["protocol", "config", "telemetry", "redis", "streams", "webhook", "agents", "inbox"],
      ...["dlq", "failures", "ingress", "leases", "notes", "loops"],
      ...["pipeline", "retry", "stages"],
    ],
  },
  cli: {
    units: [
      ...["version.ts", "protocol", "config", "telemetry", "redis", "streams", "history"],
      ...[
        "agents",
        "inbox",
        "leases",
        "dlq",
        "failures",
        "ingress",
        "notes",
        "loops",
        "stages",
        "service",
        "health",
        "mcp",
        "console",
        "app",
      ],
    ],
  },
  client: { units: ["protocol", "http"], packages: ["zod"] },
  "index.ts": { units: ["webhook", "client"] },
};

/** Packages that belong to one layer: only the MCP adapter speaks MCP. */
const OWNED_PACKAGES: Readonly<Record<string, readonly string[]>> = {
  "@modelcontextprotocol/*": ["mcp"],
};

const SRC = fileURLToPath(new URL("../../src", import.meta.url));
const PACKAGE = JSON.parse(
  readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

interface Import {
  /** The importing file, relative to src/. */
  file: string;
  line: number;
  specifier: string;
}

/**
 * Every module a file depends on, read by the TypeScript parser (so comments and strings
 * do not count, and a statement may span lines): `import … from`, `import type`, bare
 * `import "…"`, `export … from`, `export * from`, `import("…")` and `import("…").Type`.
 * A dynamic import of a computed name cannot be checked, so it is returned as `<computed>`.
 */
function importsOf(file: string, text: string): Import[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest);
  const found: Import[] = [];
  const add = (node: ts.Node, specifier: string) => {
    const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
    found.push({ file, line: line + 1, specifier });
  };
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier !== undefined &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      add(node, node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [argument] = node.arguments;
      add(
        node,
        argument !== undefined && ts.isStringLiteralLike(argument) ? argument.text : "<computed>",
      );
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      add(node, node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith(".ts")
        ? [join(dir, entry.name)]
        : [],
  );
}

/** The unit of a path relative to src/: its first folder, or the file itself at the top. */
const unitOf = (path: string): string => path.split(sep)[0]!;

const files = sources(SRC).map((path) => {
  const name = relative(SRC, path);
  const text = readFileSync(path, "utf8");
  return { name, unit: unitOf(name), text, imports: importsOf(name, text) };
});

/** A package's name from a specifier: `@scope/name/sub` → `@scope/name`, `node:fs/promises` stays. */
function packageOf(specifier: string): string {
  if (specifier.startsWith("node:")) return specifier;
  const parts = specifier.split("/");
  return parts.slice(0, specifier.startsWith("@") ? 2 : 1).join("/");
}

const matches = (pattern: string, name: string): boolean =>
  pattern.endsWith("*") ? name.startsWith(pattern.slice(0, -1)) : name === pattern;

/** The file of src/ a relative import names (`.js` in the specifier, `.ts` on disk). */
const targetOf = (i: Import): string =>
  relative(SRC, resolve(SRC, dirname(i.file), i.specifier)).replace(/\.js$/, ".ts");

const where = (i: Import) => `src/${i.file}:${i.line} imports "${i.specifier}"`;

/** What an import breaks, if anything: the message names the file, the import and the rule. */
function violation(unit: string, i: Import): string | undefined {
  const rule = LAYERS[unit]!;
  if (i.specifier === "<computed>") return `${where(i)}: a computed import cannot be checked`;
  if (i.specifier.startsWith(".")) {
    const target = targetOf(i);
    if (target.startsWith("..")) return `${where(i)}: shipped code reaches outside src/`;
    const to = unitOf(target);
    if (to === unit || rule.units.includes(to)) return undefined;
    return `${where(i)}: ${unit} may not import ${to} (LAYERS.${unit}: ${rule.units.join(", ") || "nothing"})`;
  }
  const name = packageOf(i.specifier);
  if (rule.packages !== undefined && !rule.packages.some((p) => matches(p, name))) {
    return `${where(i)}: ${unit} may import only the packages ${rule.packages.join(", ")}`;
  }
  for (const [pattern, owners] of Object.entries(OWNED_PACKAGES)) {
    if (matches(pattern, name) && !owners.includes(unit)) {
      return `${where(i)}: only ${owners.join(", ")} may import ${pattern} (OWNED_PACKAGES)`;
    }
  }
  return undefined;
}

/** A cycle in a graph of units, as `a → b → a`, or undefined. */
function cycleIn(graph: ReadonlyMap<string, ReadonlySet<string>>): string[] | undefined {
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (unit: string): string[] | undefined => {
    if (path.includes(unit)) return [...path.slice(path.indexOf(unit)), unit];
    if (done.has(unit)) return undefined;
    path.push(unit);
    for (const next of graph.get(unit) ?? []) {
      const cycle = visit(next);
      if (cycle !== undefined) return cycle;
    }
    path.pop();
    done.add(unit);
    return undefined;
  };
  for (const unit of graph.keys()) {
    const cycle = visit(unit);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}

describe("layering", () => {
  it("reads every form of import and export, on one line or several", () => {
    const text = [
      `import a from "./a.js";`,
      `import type { B } from "./b.js";`,
      `import {\n  c,\n  type C,\n} from "./c.js";`,
      `import "./d.js";`,
      `export { e } from "./e.js";`,
      `export * from "./f.js";`,
      `export type { G } from "./g.js";`,
      `const h = await import("./h.js");`,
      `let i: import("./i.js").I;`,
      `// import "./comment.js";`,
      `const s = 'import "./string.js"';`,
      `export const j = 1;`,
    ].join("\n");
    expect(importsOf("x.ts", text).map((i) => i.specifier)).toEqual(
      ["a", "b", "c", "d", "e", "f", "g", "h", "i"].map((x) => `./${x}.js`),
    );
  });

  it("has a row for every folder of src/, and its rows allow no cycle", () => {
    const units = [...new Set(files.map((f) => f.unit))].sort();
    expect(units).toEqual(Object.keys(LAYERS).sort());
    const allowed = new Map(Object.entries(LAYERS).map(([u, r]) => [u, new Set(r.units)]));
    expect(cycleIn(allowed)?.join(" → ")).toBeUndefined();
  });

  it("lets each folder import only the folders and packages its row allows", () => {
    const broken = files.flatMap((f) => f.imports.flatMap((i) => violation(f.unit, i) ?? []));
    expect(broken).toEqual([]);
  });

  it("has no cycle between folders", () => {
    const graph = new Map<string, Set<string>>();
    const example = new Map<string, string>();
    for (const f of files) {
      for (const i of f.imports.filter((i) => i.specifier.startsWith("."))) {
        const to = unitOf(targetOf(i));
        if (to === f.unit) continue;
        graph.set(f.unit, (graph.get(f.unit) ?? new Set()).add(to));
        example.set(`${f.unit} → ${to}`, where(i));
      }
    }
    const cycle = cycleIn(graph);
    const edges = cycle?.slice(1).map((to, k) => example.get(`${cycle[k]} → ${to}`));
    expect(cycle === undefined ? undefined : `${cycle.join(" → ")}: ${edges!.join("; ")}`).toBe(
      undefined,
    );
  });

  it("ships no devDependency: src/ imports only dependencies and node: built-ins", () => {
    const shipped = new Set(Object.keys(PACKAGE.dependencies));
    const broken = files.flatMap((f) =>
      f.imports
        .filter((i) => !i.specifier.startsWith(".") && !i.specifier.startsWith("node:"))
        .filter((i) => !shipped.has(packageOf(i.specifier)))
        .map((i) =>
          packageOf(i.specifier) in PACKAGE.devDependencies
            ? `${where(i)}: a devDependency, absent where Switchboard is installed`
            : `${where(i)}: not a dependency in package.json`,
        ),
    );
    expect(broken).toEqual([]);
  });

  it("builds every Redis key in redis/keys.ts (the console's in redis/console-keys.ts)", () => {
    const hashTag = /[`"'][^`"'\n]*:\{/;
    const builders = new Set(["redis/keys.ts", "redis/console-keys.ts"]);
    expect(
      files.filter((f) => !builders.has(f.name) && hashTag.test(f.text)).map((f) => f.name),
    ).toEqual([]);
  });
});

/** A file of src/ past this many lines is split by responsibility (house style: 50–250). */
const MAX_LINES = 300;

describe("module size", () => {
  it(`keeps every file of src/ within ${MAX_LINES} lines`, () => {
    const long = files
      .map((f) => ({ name: f.name, lines: f.text.replace(/\n$/, "").split("\n").length }))
      .filter((f) => f.lines > MAX_LINES)
      .map((f) => `src/${f.name}: ${f.lines} lines; split it by responsibility`);
    expect(long).toEqual([]);
  });
});
