#!/usr/bin/env node
import { URL } from "node:url";
import { setFlagsFromString } from "node:v8";

// A smaller young generation: a worker's garbage is short-lived batches, and the default
// (16 MB semi-spaces) lets a busy worker's RSS grow past 180 MB for no gain in throughput.
setFlagsFromString("--max-semi-space-size=8");
const entry = new URL("../dist/cli/main.js", import.meta.url);
const { main } = await import(entry.href).catch((error) => {
  // A checkout that was never built (the package from npm ships dist/).
  if (error?.code !== "ERR_MODULE_NOT_FOUND" || !String(error.message).includes(entry.pathname)) {
    throw error;
  }
  process.stderr.write(
    `switchboard: ${entry.pathname} is missing; build it first: npm run build (in ${new URL("..", import.meta.url).pathname})\n`,
  );
  process.exit(1);
});
await main(process.argv);
