/**
 * Two agents coordinating through Switchboard over MCP (Streamable HTTP):
 * a planner asks "whoever can review code" for a review and waits for the answer;
 * a reviewer long-polls its inbox, answers in the same thread and acknowledges.
 *
 *   npx switchboard serve            # in one terminal (or: npm start)
 *   npx tsx examples/two-agents.ts   # in another
 *
 * SWITCHBOARD_URL overrides the server address (default http://127.0.0.1:8787/mcp).
 */
import { randomBytes } from "node:crypto";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";

const url = new URL(process.env.SWITCHBOARD_URL ?? "http://127.0.0.1:8787/mcp");
const run = randomBytes(3).toString("hex"); // fresh names, so the example can run again

/** Calls a tool and returns its structured result; a tool error becomes an exception. */
async function call(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const result = await client.callTool({ name, arguments: args }, { timeout: 90_000 });
  const text = (result.content as { type: string; text?: string }[])
    .map((c) => c.text ?? "")
    .join("\n");
  if (result.isError === true) throw new Error(`${name}: ${text}`);
  console.log(`  ${name} → ${text.split("\n")[0]}`);
  return result.structuredContent as Record<string, unknown>;
}

/** Connects an agent: registers it in its session, which is then bound to it. */
async function agent(name: string, capabilities: string[]): Promise<Client> {
  const client = new Client({ name, version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(url));
  await call(client, "register_agent", { name, capabilities, description: `example ${name}` });
  return client;
}

async function reviewer(client: Client): Promise<void> {
  const { messages } = (await call(client, "fetch_inbox", { limit: 1, wait_seconds: 30 })) as {
    messages: { message_id: string; from: string; body: { diff: string } }[];
  };
  const request = messages[0];
  if (request === undefined) throw new Error("reviewer: no request arrived within 30 s");
  const verdict = request.body.diff.includes("TODO")
    ? "changes requested: a TODO is left in"
    : "approved";
  await call(client, "send_message", {
    to: [request.from],
    reply_to: request.message_id,
    subject: "review",
    body: { verdict },
  });
  await call(client, "ack_messages", { message_ids: [request.message_id] });
}

async function main(): Promise<void> {
  console.log(`Switchboard at ${url.href}`);
  const planner = await agent(`planner-${run}`, ["planning"]);
  const review = await agent(`reviewer-${run}`, [`code-review-${run}`]);

  console.log("planner asks any code reviewer, and waits for the reply:");
  const reviewing = reviewer(review);
  const sent = await call(planner, "send_message", {
    capability: `code-review-${run}`,
    mode: "any",
    subject: "please review",
    body: { diff: "+ function add(a, b) { return a + b } // TODO: types" },
    await_reply_seconds: 30,
  });
  await reviewing;
  const reply = sent.reply as { from: string; body: unknown } | null;
  console.log(
    reply === null
      ? "no reply in time"
      : `planner got: ${JSON.stringify(reply.body)} from ${reply.from}`,
  );

  console.log("the whole thread, in order:");
  const { messages } = (await call(planner, "get_thread", { thread_id: sent.thread_id })) as {
    messages: { seq: number; from: string; body: unknown }[];
  };
  for (const m of messages) console.log(`  #${m.seq} ${m.from}: ${JSON.stringify(m.body)}`);

  for (const client of [planner, review]) {
    await call(client, "unregister_agent", {});
    await client.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
