import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseDocument } from "yaml";
import { DEFAULT_PIPELINE_FILE, loadPipeline } from "../src/config/pipeline.js";

/**
 * The pipeline file (SWITCHBOARD_PIPELINE or the default) with some settings replaced,
 * each a path into the document and its value, written to `dir/name` for the workers to
 * load; returns its path.
 */
export function writePipelineWith(
  dir: string,
  name: string,
  settings: readonly (readonly [path: readonly string[], value: unknown])[],
): string {
  const document = parseDocument(
    readFileSync(process.env.SWITCHBOARD_PIPELINE || DEFAULT_PIPELINE_FILE, "utf8"),
  );
  for (const [path, value] of settings) document.setIn(path, value);
  const file = join(dir, name);
  writeFileSync(file, document.toString());
  loadPipeline(file); // refused here, not by the workers, if the base file and this disagree
  return file;
}
