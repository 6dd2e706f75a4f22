/**
 * The agent of sdk-v2.ts, written with the MCP TypeScript SDK v1
 * (`@modelcontextprotocol/sdk`, what `npm install @modelcontextprotocol/sdk` gives). The one
 * difference that bites: v1's `callTool(params, resultSchema?, options?)` takes the request
 * options third. Passing `{ timeout }` second, as v2 takes it, makes v1 use it as the result
 * schema and fail with `v3Schema.safeParse is not a function`.
 *
 *   SWITCHBOARD_TOKEN=sbt_… npx tsx examples/sdk-v1.ts
 *
 * SWITCHBOARD_URL overrides the server address (default http://127.0.0.1:8787/mcp).
 * docs/agents.md shows the part between the #region markers.
 */
// #region client
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const url = new URL(process.env.SWITCHBOARD_URL ?? "http://127.0.0.1:8787/mcp");
const client = new Client({ name: "my-bot", version: "1.0.0" });
await client.connect(
  new StreamableHTTPClientTransport(url, {
    requestInit: { headers: { Authorization: `Bearer ${process.env.SWITCHBOARD_TOKEN}` } },
  }),
);
const server = client.getServerVersion(); // { name: "switchboard", version: "0.1.0" }
console.log(`connected to ${server?.name} ${server?.version}`);

const result = await client.callTool(
  { name: "fetch_inbox", arguments: { limit: 10, wait_seconds: 30 } },
  undefined, // v1: the result schema (undefined: the default one) comes before the options
  { timeout: 90_000 }, // the default timeout is 60 s; a long poll needs more than its wait
);
// #endregion
if (result.isError === true) throw new Error(JSON.stringify(result.content));

interface Inbox {
  messages: { message_id: string; from: string; subject?: string; body: unknown }[];
}
const { messages } = result.structuredContent as Inbox;
for (const m of messages) console.log(`${m.from}: ${m.subject ?? ""} ${JSON.stringify(m.body)}`);
if (messages.length > 0) {
  await client.callTool({
    name: "ack_messages",
    arguments: { message_ids: messages.map((m) => m.message_id) },
  });
}
console.log(`acknowledged ${messages.length}`);
await client.close();
