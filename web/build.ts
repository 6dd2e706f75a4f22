import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

/**
 * Builds the web console (web/console/, Preact + TSX) into `dist/console-web/`: an
 * `index.html` naming `assets/app-<hash>.js` and `assets/app-<hash>.css`, nothing inline
 * (the console's Content-Security-Policy forbids inline scripts and styles) and nothing
 * from another origin. Run by `npm run build` after tsc, and by the tests' global setup
 * when the build is missing or older than web/.
 */
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SOURCE = join(ROOT, "web", "console");
/** Where `serve` looks for the console. */
export const CONSOLE_DIST = join(ROOT, "dist", "console-web");

export interface ConsoleBuild {
  /** File names under `dist/console-web/assets/`. */
  js: string;
  css: string;
}

export async function buildConsole(outDir = CONSOLE_DIST): Promise<ConsoleBuild> {
  const assets = join(outDir, "assets");
  await rm(outDir, { recursive: true, force: true });
  await mkdir(assets, { recursive: true });
  const result = await build({
    entryPoints: { app: join(SOURCE, "src", "main.tsx") },
    outdir: assets,
    entryNames: "[name]-[hash]",
    bundle: true,
    minify: true,
    sourcemap: false,
    format: "esm",
    target: ["chrome120", "firefox120", "safari17"],
    jsx: "automatic",
    jsxImportSource: "preact",
    tsconfig: join(SOURCE, "tsconfig.json"),
    metafile: true,
    logLevel: "warning",
  });
  const outputs = Object.keys(result.metafile.outputs).map((path) => basename(path));
  const js = outputs.find((name) => name.endsWith(".js"));
  const css = outputs.find((name) => name.endsWith(".css"));
  if (js === undefined || css === undefined) {
    throw new Error(
      `the console build made ${outputs.join(", ")}: expected app-*.js and app-*.css`,
    );
  }
  const template = await readFile(join(SOURCE, "index.html"), "utf8");
  await writeFile(join(outDir, "index.html"), template.replace("%JS%", js).replace("%CSS%", css));
  return { js, css };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { js, css } = await buildConsole();
  console.log(`console built: dist/console-web/index.html, assets/${js}, assets/${css}`);
}
