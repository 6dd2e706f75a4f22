import { beforeAll, describe, expect, it } from "vitest";
import { run } from "../support/cli.js";
import { eventually } from "../support/harness.js";
import {
  call,
  connectLegacy,
  connectModern,
  connectStdio,
  useServe,
  type McpClient,
  type Fetched,
} from "../support/mcp.js";

/** `switchboard stdio` spawned by the SDKs' stdio transports, next to a `serve` process. */
const fixture = useServe();

let hankToken: string;

/** hank: an agent on the HTTP front end, by his token; a new client per test. */
async function hank(): Promise<McpClient> {
  return connectLegacy(fixture.serve.url, hankToken);
}

beforeAll(async () => {
  const client = await connectModern(fixture.serve.url);
  ({ token: hankToken } = await call<{ token: string }>(client, "register_agent", {
    name: "hank",
  }));
});

describe("MCP over stdio", () => {
  it("registers a new agent as it starts, keeps its token, sends and receives (v2 SDK)", async () => {
    const sam = await connectStdio({
      env: fixture.env,
      agent: "sam",
      args: ["--capabilities", "ops"],
    });
    expect(await call(sam.client, "heartbeat")).toMatchObject({ name: "sam", status: "online" });
    expect(sam.stderr()).toMatch(
      /registered agent 'sam'; its token is kept in \S+\/credentials\/sam\.[0-9a-f]+\.json/,
    );
    const { agents } = await call<{ agents: { name: string; capabilities: string[] }[] }>(
      sam.client,
      "list_agents",
      { capability: "ops" },
    );
    expect(agents).toEqual([expect.objectContaining({ name: "sam", capabilities: ["ops"] })]);

    const http = await hank();
    const sent = await call<{ message_id: string }>(sam.client, "send_message", {
      to: ["hank"],
      body: { from: "stdio" },
    });
    const fetched = await call<Fetched>(http, "fetch_inbox", { wait_seconds: 10 });
    expect(fetched.messages).toEqual([
      expect.objectContaining({
        message_id: sent.message_id,
        from: "sam",
        body: { from: "stdio" },
      }),
    ]);
    await call(http, "ack_messages", { message_ids: [sent.message_id] });

    await call(http, "send_message", { to: ["sam"], reply_to: sent.message_id, body: "got it" });
    const reply = await call<Fetched>(sam.client, "fetch_inbox", { wait_seconds: 10 });
    expect(reply.messages).toEqual([expect.objectContaining({ from: "hank", body: "got it" })]);
  });

  it("is the agent its SWITCHBOARD_TOKEN belongs to (v1 SDK)", async () => {
    const tessHttp = await connectModern(fixture.serve.url);
    const { token } = await call<{ token: string }>(tessHttp, "register_agent", { name: "tess" });
    const tess = await connectStdio({ env: fixture.env, agent: "tess", token, sdk: "v1" });
    expect(tess.stderr()).not.toContain("SWITCHBOARD_TOKEN=");
    await call(await hank(), "send_message", { to: ["tess"], body: "for tess" });
    const fetched = await call<Fetched>(tess.client, "fetch_inbox", { wait_seconds: 10 });
    expect(fetched.messages).toEqual([expect.objectContaining({ from: "hank", body: "for tess" })]);
    expect(await call(tess.client, "heartbeat")).toMatchObject({ name: "tess" });
  });

  it("refuses to start with the token of another agent", async () => {
    const result = await run(["stdio", "--agent", "someone-else"], {
      ...fixture.env,
      SWITCHBOARD_TOKEN: hankToken,
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/switchboard: SWITCHBOARD_TOKEN belongs to agent 'hank'/);
  });

  it("tells a subscribed client of new mail and stops when stdin closes", async () => {
    const uma = await connectStdio({ env: fixture.env, agent: "uma" });
    const client = uma.client as Awaited<ReturnType<typeof connectLegacy>>;
    const updates: string[] = [];
    client.setNotificationHandler("notifications/resources/updated", (n) => {
      updates.push(n.params.uri);
    });
    await call(client, "heartbeat");
    await client.subscribeResource({ uri: "switchboard://inbox/uma" });
    await expect(client.subscribeResource({ uri: "switchboard://inbox/hank" })).rejects.toThrow(
      /only your own inbox/,
    );
    await call(await hank(), "send_message", { to: ["uma"], body: "ding" });
    await eventually(() => Promise.resolve(updates.includes("switchboard://inbox/uma")));

    await client.close();
    await eventually(() => Promise.resolve(uma.stderr().includes('"signal":"stdin closed"')));
    expect(uma.stderr()).toContain('"msg":"worker stopped"');
  });
});
