/**
 * The reference of `npm run bench -- --mcp-calls`: a bare MCP server on the same SDK and
 * HTTP stack as `switchboard serve`'s front end (node:http, toNodeHandler, the body parsed
 * once, a strict `createMcpHandler` with a server per 2026-07-28 request, 2025-11-25
 * sessions over a JSON-answering transport), with as many tools, advertised with the same
 * input schemas, whose handlers return a constant. No Redis, no identity, no digest.
 * Listens on 127.0.0.1:$PORT; `/healthz` answers once it does.
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import { toNodeHandler } from "@modelcontextprotocol/node";
import {
  createMcpHandler,
  isInitializeRequest,
  isLegacyRequest,
  McpServer,
  WebStandardStreamableHTTPServerTransport,
} from "@modelcontextprotocol/server";
import type { z } from "zod";
import { advertised } from "../src/mcp/input.js";
import { ToolInputs, type ToolName } from "../src/protocol/tools.js";

const TOOL_NAMES = Object.keys(ToolInputs) as ToolName[];
const INPUTS = new Map(
  TOOL_NAMES.map((name) => [name, advertised(ToolInputs[name] as z.ZodObject)]),
);

/** Every tool, each answering `{name, token}` at once (the benchmark's clients read `token`). */
function build(): McpServer {
  const server = new McpServer({ name: "bare", version: "1" }, { capabilities: { tools: {} } });
  for (const [name, inputSchema] of INPUTS) {
    server.registerTool(name, { description: name, inputSchema }, () => {
      const data = { name, token: "bare" };
      return { content: [{ type: "text", text: JSON.stringify(data) }], structuredContent: data };
    });
  }
  return server;
}

const modern = createMcpHandler(build, { legacy: "reject" });
const sessions = new Map<string, WebStandardStreamableHTTPServerTransport>();

async function legacy(request: Request, parsedBody: unknown): Promise<Response> {
  const id = request.headers.get("mcp-session-id");
  const known = id === null ? undefined : sessions.get(id);
  if (known !== undefined) return known.handleRequest(request, { parsedBody });
  if (id !== null || !isInitializeRequest(parsedBody)) return new Response(null, { status: 404 });
  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    enableJsonResponse: true,
    onsessioninitialized: (opened) => void sessions.set(opened, transport),
    onsessionclosed: (closed) => void sessions.delete(closed),
  });
  await build().connect(transport);
  return transport.handleRequest(request, { parsedBody });
}

async function body(req: IncomingMessage): Promise<unknown> {
  if (req.method !== "POST") return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
}

const server = createServer((req, res) => {
  if (req.url === "/healthz") {
    res.writeHead(200).end("ok");
    return;
  }
  void (async () => {
    const parsedBody = await body(req);
    const route = async (request: Request): Promise<Response> =>
      (await isLegacyRequest(request, parsedBody))
        ? legacy(request, parsedBody)
        : modern.fetch(request, { parsedBody });
    await toNodeHandler({ fetch: route })(req, res, parsedBody);
  })().catch(() => res.writeHead(500).end());
});
server.listen(Number(process.env.PORT), "127.0.0.1");
process.on("SIGTERM", () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
