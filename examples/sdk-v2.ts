/**
 * An agent written with the MCP TypeScript SDK v2 (`@modelcontextprotocol/client`): it
 * connects as an agent registered before, waits for its mail with a long poll, prints
 * each message and acknowledges it. For SDK v1 (`@modelcontextprotocol/sdk`) see sdk-v1.ts.
 *
 *   npx switchboard serve                                   # in one terminal (or: npm start)
 *   switchboard agents register my-bot                      # prints the agent's token
 *   SWITCHBOARD_TOKEN=sbt_… npx tsx examples/sdk-v2.ts      # in another
 *
 * SWITCHBOARD_URL overrides the server address (default http://127.0.0.1:8787/mcp).
 * docs/agents.md shows the part between the #region markers.
 */
// #region client
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";

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
