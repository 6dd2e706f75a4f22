import { InvalidArgumentError, Option, type Command } from "commander";
import { STAGE_NAMES } from "../../config/pipeline.js";
import { serveProbes } from "../../health/probes.js";
import type { Switchboard } from "../../service/switchboard.js";
import { listenError } from "../errors.js";
import {
  checkNoWorkersVariable,
  checkSwitchVariable,
  noWorkersOption,
  runUntilStopped,
  shutdownTimeoutOption,
  type FrontEnd,
} from "../lifecycle.js";
import { globalOptions, splitList, withExamples } from "../options.js";
import { openRuntime, type Runtime } from "../runtime.js";

export const DEFAULT_PORT = 8787;
export const DEFAULT_HOST = "127.0.0.1";
const NO_CONSOLE_VARIABLE = "SWITCHBOARD_NO_CONSOLE";

interface ServeOptions {
  port: number;
  host: string;
  workers: boolean;
  allowedOrigins: string[];
  shutdownTimeoutMs: number;
  console: boolean;
  consoleDir?: string;
  traceUrl?: string;
}

/** `switchboard serve`: the MCP front end over HTTP, and every stage, in one process. */
export function registerServe(program: Command): void {
  const command = program
    .command("serve")
    .description("serve MCP over HTTP at /mcp and run all four stages in this process")
    .addOption(
      new Option("--port <port>", "TCP port of the MCP endpoint (0: any free one)")
        .argParser(portNumber)
        .default(DEFAULT_PORT)
        .env("SWITCHBOARD_PORT"),
    )
    .addOption(
      new Option(
        "--host <address>",
        "address to listen on; loopback by default, anything else exposes the endpoint",
      )
        .default(DEFAULT_HOST)
        .env("SWITCHBOARD_HOST"),
    )
    .addOption(noWorkersOption("serve MCP only; run the stages elsewhere (switchboard worker)"))
    .addOption(
      new Option(
        "--allowed-origins <list>",
        "comma-separated browser origins (or hostnames) allowed besides localhost",
      )
        .argParser(splitList)
        .default([])
        .env("SWITCHBOARD_ALLOWED_ORIGINS"),
    )
    .addOption(shutdownTimeoutOption())
    .addOption(
      new Option(
        "--no-console",
        "do not serve the web console (/console answers 404); the variable takes 1",
      ).env(NO_CONSOLE_VARIABLE),
    )
    .addOption(
      new Option(
        "--trace-url <template>",
        "a trace UI's URL with {trace_id} in it; the console links each message to its trace",
      )
        .argParser(traceUrlTemplate)
        .env("SWITCHBOARD_TRACE_URL"),
    )
    .addOption(
      new Option(
        "--console-dir <path>",
        "the built web console (default: the package's dist/console-web)",
      )
        .env("SWITCHBOARD_CONSOLE_DIR")
        .hideHelp(),
    )
    .addHelpText(
      "after",
      "\nServes MCP (Streamable HTTP, protocol 2025-11-25 sessions and 2026-07-28) at\n" +
        "http://HOST:PORT/mcp. Requests from foreign browser origins get 403. Agents present\n" +
        "the token register_agent gave them as `Authorization: Bearer`. The same port answers\n" +
        "GET /healthz (`ok`), /readyz (200 or 503, JSON) and /metrics (Prometheus); see\n" +
        "docs/operations.md. Bodies, connections and sessions are bounded by the pipeline\n" +
        "file's `http` block (docs/operations.md, Limits).\n" +
        "The web console is at http://HOST:PORT/console/ (log in with the token of\n" +
        "`switchboard console token`); --no-console turns it off.\n" +
        "Any number of serve processes may share one Redis behind a load balancer; it\n" +
        "must keep each 2025-11-25 session (Mcp-Session-Id) on one of them: docs/scaling.md.\n" +
        "Finds or starts Redis (REDIS_URL, then 127.0.0.1:6379, then a spawned redis-server)\n" +
        "and logs where it is. SIGINT or SIGTERM stops gracefully (exit 0, or 1 when the\n" +
        "shutdown timeout runs out); a second signal exits at once.",
    )
    .action(serve);
  withExamples(command, [
    "switchboard serve",
    "switchboard serve --port 9000 --no-workers",
    "switchboard serve --host 0.0.0.0 --allowed-origins https://console.example.com",
    "switchboard serve --trace-url 'http://localhost:16686/trace/{trace_id}'",
    "switchboard serve --no-console",
    "REDIS_URL=redis://127.0.0.1:6379 switchboard serve --prefix team1",
  ]);
}

async function serve(options: ServeOptions, command: Command): Promise<void> {
  checkNoWorkersVariable();
  checkSwitchVariable(NO_CONSOLE_VARIABLE, "serve no console", "serve it");
  const runtime = await openRuntime(globalOptions(command), { longRunning: true });
  await runUntilStopped(runtime, {
    stages: options.workers ? STAGE_NAMES : [],
    pipeline: runtime.pipeline,
    shutdownTimeoutMs: options.shutdownTimeoutMs,
    frontEnd: (service) => startHttp(service, options, runtime),
  });
}

async function startHttp(
  service: Switchboard,
  options: ServeOptions,
  runtime: Runtime,
): Promise<FrontEnd> {
  const { log } = runtime;
  // Loaded here, not at start-up: `switchboard worker` never pays for the MCP SDK.
  const { isLoopback, startHttpFrontEnd } = await import("../../mcp/http.js");
  const http = await startHttpFrontEnd({
    service,
    log,
    host: options.host,
    port: options.port,
    allowedOrigins: options.allowedOrigins,
    limits: runtime.pipeline.http,
    probes: serveProbes(runtime, log),
    ...(options.console
      ? { console: { source: runtime, dir: options.consoleDir, traceUrl: options.traceUrl } }
      : {}),
  }).catch((error: unknown) => {
    throw listenError(error, {
      host: options.host,
      port: options.port,
      portOption: "--port (SWITCHBOARD_PORT)",
      hostOption: "--host (SWITCHBOARD_HOST)",
    });
  });
  log.info("mcp front end listening", { url: http.url });
  if (http.consoleUrl !== undefined) log.info("web console", { url: http.consoleUrl });
  if (!isLoopback(options.host)) {
    log.warn("the MCP endpoint is reachable from the network: anyone who reaches it can register", {
      host: options.host,
    });
  }
  return { stop: (drainMs) => http.close(drainMs) };
}

/** A trace UI's URL template for commander: http(s), with `{trace_id}` in it. */
function traceUrlTemplate(value: string): string {
  let ok = value.includes("{trace_id}");
  try {
    ok &&= /^https?:$/.test(new URL(value.replaceAll("{trace_id}", "0")).protocol);
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new InvalidArgumentError(
      "expected an http(s) URL with {trace_id} in it, such as http://localhost:16686/trace/{trace_id}.",
    );
  }
  return value;
}

/** A TCP port for commander: 0 to 65535. */
export function portNumber(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value.trim()) || port > 65_535) {
    throw new InvalidArgumentError("expected a port number, 0 to 65535.");
  }
  return port;
}
