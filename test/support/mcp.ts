import type { Digest, InboxMessage } from "../../src/inbox/inbox.js";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { getDefaultEnvironment, StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { Client as V1Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport as V1StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport as V1HttpTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll } from "vitest";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { cliEnv, killAll, ROOT, startListening, type ListeningProcess } from "./cli.js";
import { connect, deleteByPrefix, testPrefix } from "./redis.js";

/**
 * MCP clients of every kind against real `switchboard` processes: `serve` over HTTP
 * (v2 client in the 2025-11-25 session era or the 2026-07-28 stateless era, v1 client)
 * and `stdio` (v2 and v1 transports). Close what you open with {@link closeClients} and
 * {@link killAll} (test/support/cli.ts) in `afterEach`.
 */

export type McpClient = Client | V1Client;

/** A pipeline that moves messages in milliseconds and sweeps agents often. */
export const FAST_PIPELINE_YAML = `version: 1
defaults:
  batchSize: 50
  blockMs: 100
  claimIdleMs: 400
  janitorIntervalMs: 150
  maxDeliveries: 3
dedupe:
  idempotencyWindowMs: 60000
  deliveryWindowMs: 60000
agents:
  sweepIntervalMs: 500
`;

/**
 * {@link FAST_PIPELINE_YAML} with fields of some sections set, e.g.
 * `fastPipelineWith({ inbox: { quota: 2 }, agents: { idleAfterMs: 1000 } })`.
 */
export function fastPipelineWith(sections: Record<string, Record<string, unknown>>): string {
  const document = parseYaml(FAST_PIPELINE_YAML) as Record<string, Record<string, unknown>>;
  for (const [section, fields] of Object.entries(sections)) {
    document[section] = { ...document[section], ...fields };
  }
  return stringifyYaml(document);
}

/** Writes {@link FAST_PIPELINE_YAML} (or `yaml`) to a new temp file; returns its path. */
export async function writePipeline(yaml = FAST_PIPELINE_YAML): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "switchboard-mcp-"));
  const file = join(dir, "pipeline.yaml");
  await writeFile(file, yaml);
  return file;
}

export type ServeProcess = ListeningProcess;

/** Starts `switchboard serve --port 0 ARGS` and waits until it listens. */
export function startServe(
  env: NodeJS.ProcessEnv,
  args: string[] = [],
  timeoutMs = 20_000,
): Promise<ServeProcess> {
  return startListening(
    ["serve", "--port", "0", ...args],
    env,
    "mcp front end listening",
    timeoutMs,
  );
}

const open = new Set<{ close(): Promise<void> }>();

function track<C extends { close(): Promise<void> }>(client: C): C {
  open.add(client);
  return client;
}

/** Closes every client opened through this module; for `afterEach`. */
export async function closeClients(): Promise<void> {
  const clients = [...open];
  open.clear();
  await Promise.allSettled(clients.map((client) => client.close()));
}

/** A v2 client in its default era: 2025-11-25 with a session; `token` as a bearer. */
export async function connectLegacy(url: URL, token?: string): Promise<Client> {
  const client = track(new Client({ name: "test-legacy", version: "1" }));
  const headers: Record<string, string> =
    token === undefined ? {} : { Authorization: `Bearer ${token}` };
  await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers } }));
  return client;
}

/** A mutable token, read on every request: register first, then act with it. */
export interface Credentials {
  token?: string;
}

/** A v2 client negotiating the stateless 2026-07-28 era; `auth.token` is its bearer. */
export async function connectModern(url: URL, auth: Credentials = {}): Promise<Client> {
  const client = track(
    new Client({ name: "test-modern", version: "1" }, { versionNegotiation: { mode: "auto" } }),
  );
  const authProvider = { token: () => Promise.resolve(auth.token) };
  await client.connect(new StreamableHTTPClientTransport(url, { authProvider }));
  return client;
}

/** A v1 (`@modelcontextprotocol/sdk`) client: 2025-11-25 with a session. */
export async function connectV1(url: URL, token?: string): Promise<V1Client> {
  const client = track(new V1Client({ name: "test-v1", version: "1" }));
  const headers: Record<string, string> =
    token === undefined ? {} : { Authorization: `Bearer ${token}` };
  await client.connect(new V1HttpTransport(url, { requestInit: { headers } }));
  return client;
}

/** How an agent connects: a v2 client with a session, a stateless v2 client, a v1 client. */
export type Era = "legacy" | "modern" | "v1";

/** A registered agent: its connected client, its name and its token. */
export interface Agent {
  name: string;
  token: string;
  client: McpClient;
}

/**
 * Connects a client of the given era and registers `name` with it: a session client
 * (legacy, v1) is that agent from then on; a stateless (modern) one presents the token
 * on every later request.
 */
export async function joinAs(
  url: URL,
  name: string,
  era: Era,
  capabilities: string[] = [],
): Promise<Agent> {
  const auth: Credentials = {};
  const client =
    era === "legacy"
      ? await connectLegacy(url)
      : era === "modern"
        ? await connectModern(url, auth)
        : await connectV1(url);
  const { token } = await call<{ token: string }>(client, "register_agent", { name, capabilities });
  auth.token = token;
  return { name, token, client };
}

export interface StdioOptions {
  env: NodeJS.ProcessEnv;
  agent: string;
  args?: string[];
  /** SWITCHBOARD_TOKEN for the process. */
  token?: string;
  sdk?: "v2" | "v1";
}

export interface StdioConnection {
  client: McpClient;
  /** What the process wrote to stderr so far (logs, the token of a new agent). */
  stderr(): string;
}

/** Spawns `switchboard stdio --agent NAME` through the SDK's stdio client transport. */
export async function connectStdio(options: StdioOptions): Promise<StdioConnection> {
  const env: Record<string, string> = { ...getDefaultEnvironment() };
  for (const [key, value] of Object.entries({ ...options.env, SWITCHBOARD_TOKEN: options.token })) {
    if (value !== undefined) env[key] = value;
  }
  const params = {
    command: process.execPath,
    args: [
      join(ROOT, "bin", "switchboard.js"),
      "stdio",
      "--agent",
      options.agent,
      ...(options.args ?? []),
    ],
    cwd: ROOT,
    env,
    stderr: "pipe" as const,
  };
  let stderr = "";
  if (options.sdk === "v1") {
    const transport = new V1StdioClientTransport(params);
    transport.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    const client = track(new V1Client({ name: "test-v1-stdio", version: "1" }));
    await client.connect(transport);
    return { client, stderr: () => stderr };
  }
  const transport = new StdioClientTransport(params);
  transport.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  const client = track(new Client({ name: "test-v2-stdio", version: "1" }));
  await client.connect(transport);
  return { client, stderr: () => stderr };
}

/** A raw 2025-11-25 `initialize` request, for tests that speak the protocol by hand. */
export function initializeRequest(clientName: string): Record<string, unknown> {
  return {
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: {
      protocolVersion: "2025-11-25",
      capabilities: {},
      clientInfo: { name: clientName, version: "1" },
    },
  };
}

/** A tool's `isError` result, thrown by {@link call}: its text is the message. */
export class ToolError extends Error {
  constructor(
    readonly tool: string,
    readonly text: string,
  ) {
    super(text);
    this.name = "ToolError";
  }
}

export interface CallOptions {
  /** The client's request timeout (default 60 s); raise it for long polls. */
  timeoutMs?: number;
  /** Request `_meta`, such as `{ traceparent }`. */
  meta?: Record<string, unknown>;
}

export interface RawToolResult {
  isError?: boolean;
  content: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
}

/** Calls a tool with any client and returns the result as it came. */
export async function callRaw(
  client: McpClient,
  name: string,
  args: Record<string, unknown> = {},
  options: CallOptions = {},
): Promise<RawToolResult> {
  const params = { name, arguments: args, ...(options.meta ? { _meta: options.meta } : {}) };
  const timeout = options.timeoutMs === undefined ? undefined : { timeout: options.timeoutMs };
  const result =
    client instanceof V1Client
      ? await client.callTool(params, undefined, timeout)
      : await client.callTool(params, timeout);
  return result as RawToolResult;
}

/** Calls a tool; its structured content, or a {@link ToolError} with its text on `isError`. */
export async function call<T = Record<string, unknown>>(
  client: McpClient,
  name: string,
  args: Record<string, unknown> = {},
  options: CallOptions = {},
): Promise<T> {
  const result = await callRaw(client, name, args, options);
  if (result.isError === true) throw new ToolError(name, textOf(result));
  return result.structuredContent as T;
}

/** The text blocks of a result, joined by newlines. */
export function textOf(result: RawToolResult): string {
  return result.content.map((block) => block.text ?? "").join("\n");
}

export interface ServeFixture {
  prefix: string;
  pipeline: string;
  env: NodeJS.ProcessEnv;
  serve: ServeProcess;
  redis: Redis;
}

/**
 * One `serve` process for a test file, on its own key prefix: started before the tests,
 * stopped (and its keys deleted) after them; clients are closed after each test.
 */
export function useServe(options: { yaml?: string; args?: string[] } = {}): ServeFixture {
  const fixture = {} as ServeFixture;
  beforeAll(async () => {
    fixture.prefix = testPrefix();
    fixture.pipeline = await writePipeline(options.yaml);
    fixture.env = cliEnv(fixture.prefix, fixture.pipeline);
    fixture.redis = await connect();
    fixture.serve = await startServe(fixture.env, options.args);
  });
  afterEach(closeClients);
  afterAll(async () => {
    await closeClients();
    await fixture.serve?.stop();
    killAll();
    await deleteByPrefix(fixture.redis, fixture.prefix);
    await fixture.redis.quit();
    await rm(dirname(fixture.pipeline), { recursive: true, force: true });
  });
  return fixture;
}

/** A message as `fetch_inbox` returns it: the service's own type. */
export type FetchedMessage = InboxMessage;

/** What `fetch_inbox` returns. */
export interface Fetched {
  messages: FetchedMessage[];
  count: number;
  inbox: Digest;
}
