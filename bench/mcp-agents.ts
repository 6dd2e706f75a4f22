import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";

/**
 * The benchmark's MCP agents: one v2 client each, in one of the two protocol eras, and
 * the one place every tool call goes through (so each is timed and counted).
 */

/** `session`: 2025-11-25, `Mcp-Session-Id`, the session bound by register_agent (the v2
 * client's default). `stateless`: 2026-07-28, no session, the token as a bearer. */
export type Mode = "session" | "stateless";

export const MODERN_VERSION = "2026-07-28";

export interface Agent {
  name: string;
  client: Client;
  /** Where its calls are recorded (shared by the agents of a run). */
  log: CallRecord[];
}

/** One finished tool call, performance.now() times, ms. */
export interface CallRecord {
  tool: string;
  start: number;
  end: number;
}

/** A tool's `isError` result. */
export class ToolError extends Error {
  override name = "ToolError";
}

/** Calls a tool, records it, and returns its structured content (throws on `isError`). */
export async function call(
  agent: Agent,
  tool: string,
  args: Record<string, unknown>,
  options: { timeout?: number; signal?: AbortSignal } = {},
): Promise<Record<string, unknown>> {
  const start = performance.now();
  const result = await agent.client.callTool({ name: tool, arguments: args }, options);
  agent.log.push({ tool, start, end: performance.now() });
  if (result.isError === true) {
    const text = result.content.map((block) => (block.type === "text" ? block.text : "")).join(" ");
    throw new ToolError(`${agent.name} ${tool}: ${text}`);
  }
  return (result.structuredContent ?? {}) as Record<string, unknown>;
}

/** Connects a client in `mode` and registers `name`; the returned agent acts as it. */
async function connectAgent(url: URL, mode: Mode, name: string, log: CallRecord[]): Promise<Agent> {
  let agent: Agent;
  if (mode === "session") {
    const client = new Client({ name: `bench-${name}`, version: "1" });
    await client.connect(new StreamableHTTPClientTransport(url));
    agent = { name, client, log };
  } else {
    const auth: { token?: string } = {};
    const client = new Client(
      { name: `bench-${name}`, version: "1" },
      { versionNegotiation: { mode: { pin: MODERN_VERSION } } },
    );
    const authProvider = { token: () => Promise.resolve(auth.token) };
    await client.connect(new StreamableHTTPClientTransport(url, { authProvider }));
    agent = { name, client, log };
    const registered = await call(agent, "register_agent", { name });
    auth.token = String(registered.token);
    return agent;
  }
  await call(agent, "register_agent", { name });
  return agent;
}

/** Connects and registers `count` agents, `agent-0` … (a few at a time). */
export async function connectAgents(
  url: URL,
  mode: Mode,
  count: number,
  log: CallRecord[],
): Promise<Agent[]> {
  const agents: Agent[] = [];
  const BATCH = 10;
  try {
    for (let i = 0; i < count; i += BATCH) {
      const names = Array.from({ length: Math.min(BATCH, count - i) }, (_, j) => `agent-${i + j}`);
      const settled = await Promise.allSettled(names.map((n) => connectAgent(url, mode, n, log)));
      for (const outcome of settled) if (outcome.status === "fulfilled") agents.push(outcome.value);
      const failed = settled.find((o): o is PromiseRejectedResult => o.status === "rejected");
      if (failed !== undefined) throw failed.reason;
    }
    const era = agents[0]?.client.getProtocolEra();
    const want = mode === "session" ? "legacy" : "modern";
    if (era !== want) throw new Error(`the ${mode} clients negotiated the ${era ?? "?"} era`);
    return agents;
  } catch (error) {
    await closeAgents(agents);
    throw error;
  }
}

/** Closes every client (their sessions end with the serve process). */
export async function closeAgents(agents: readonly Agent[]): Promise<void> {
  await Promise.allSettled(agents.map((agent) => agent.client.close()));
}
