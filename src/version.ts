import { readFileSync } from "node:fs";
import { z } from "zod";

/**
 * The package's own name and version, read once from its `package.json`: `../package.json`
 * from this module is the package root whether it runs from `src/` (tsx) or `dist/`, in a
 * checkout or installed under `node_modules/`. `switchboard --version` and the MCP server's
 * `serverInfo` both show this, so a release changes one file.
 */
const PackageSchema = z.object({ name: z.string().min(1), version: z.string().min(1) });

const PACKAGE = PackageSchema.parse(
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")),
);

/** The npm package name, `switchboard`. */
export const PACKAGE_NAME: string = PACKAGE.name;

/** The package version, such as `0.1.0`. */
export const VERSION: string = PACKAGE.version;
