import { ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";
import { eventually } from "../support/harness.js";
import {
  call,
  connectLegacy,
  connectModern,
  connectV1,
  useServe,
  type Credentials,
} from "../support/mcp.js";

/** Resources over HTTP: the directory, your inbox (subscribable), threads. */
const fixture = useServe();

const inbox = (agent: string) => `switchboard://inbox/${agent}`;

function contentOf(result: { contents: { text?: string; blob?: string }[] }): unknown {
  const first = result.contents[0];
  return first !== undefined && "text" in first ? JSON.parse(String(first.text)) : undefined;
}

describe("MCP resources", () => {
  it("sends resources/updated for an inbox to subscribers of every era, as a hint", async () => {
    const { url } = fixture.serve;
    const ada = await connectLegacy(url);
    const benAuth: Credentials = {};
    const ben = await connectModern(url, benAuth);
    const cy = await connectV1(url);
    await call(ada, "register_agent", { name: "ada" });
    benAuth.token = (await call<{ token: string }>(ben, "register_agent", { name: "ben" })).token;
    await call(cy, "register_agent", { name: "cy" });

    const seen: Record<string, string[]> = { ada: [], ben: [], cy: [] };
    ada.setNotificationHandler("notifications/resources/updated", (n) => {
      seen.ada!.push(n.params.uri);
    });
    ben.setNotificationHandler("notifications/resources/updated", (n) => {
      seen.ben!.push(n.params.uri);
    });
    cy.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      seen.cy!.push(n.params.uri);
    });
    await ada.subscribeResource({ uri: inbox("ada") });
    await expect(ada.subscribeResource({ uri: inbox("ben") })).rejects.toThrow(
      /only your own inbox/,
    );
    const listening = await ben.listen({ resourceSubscriptions: [inbox("ben")] });
    await cy.subscribeResource({ uri: inbox("cy") });

    await call(ada, "send_message", { to: ["ben", "cy"], body: "one" });
    await call(cy, "send_message", { to: ["ada"], body: "two" });
    await eventually(() =>
      Promise.resolve(seen.ada!.length > 0 && seen.ben!.length > 0 && seen.cy!.length > 0),
    );
    expect(seen).toEqual({ ada: [inbox("ada")], ben: [inbox("ben")], cy: [inbox("cy")] });

    await ada.unsubscribeResource({ uri: inbox("ada") });
    await call(cy, "send_message", { to: ["ada", "ben"], body: "three" });
    await eventually(() => Promise.resolve(seen.ben!.length === 2));
    expect(seen.ada).toHaveLength(1);
    await listening.close();
  });

  it("reads the directory, a peek of your own inbox and a thread", async () => {
    const { url } = fixture.serve;
    const dot = await connectLegacy(url);
    const eve = await connectLegacy(url);
    await call(dot, "register_agent", { name: "dot" });
    await call(eve, "register_agent", { name: "eve" });

    const agents = contentOf(await dot.readResource({ uri: "switchboard://agents" }));
    expect(agents).toMatchObject({
      agents: expect.arrayContaining([expect.objectContaining({ name: "eve" })]),
    });

    const { resources } = await eve.listResources();
    expect(resources.map((r) => r.uri)).toEqual([
      "switchboard://agents",
      "switchboard://leases",
      inbox("eve"),
    ]);

    const sent = await call<{ message_id: string; thread_id: string }>(dot, "send_message", {
      to: ["eve"],
      subject: "peek",
      body: "look, don't take",
    });
    const peek = await eventually(async () => {
      const content = contentOf(await eve.readResource({ uri: inbox("eve") })) as {
        unread: number;
        messages: { message_id: string }[];
      };
      return content.unread === 1 ? content : undefined;
    });
    expect(peek.messages.map((m) => m.message_id)).toEqual([sent.message_id]);
    const fetched = await call<{ messages: unknown[] }>(eve, "fetch_inbox");
    expect(fetched.messages).toHaveLength(1);

    await expect(dot.readResource({ uri: inbox("eve") })).rejects.toThrow(/only your own inbox/);
    const thread = contentOf(
      await eve.readResource({ uri: `switchboard://thread/${sent.thread_id}` }),
    );
    expect(thread).toMatchObject({
      thread_id: sent.thread_id,
      messages: [expect.objectContaining({ message_id: sent.message_id, subject: "peek" })],
    });
    const stranger = await connectLegacy(url);
    await expect(
      stranger.readResource({ uri: `switchboard://thread/${sent.thread_id}` }),
    ).rejects.toThrow(/UNAUTHENTICATED/);
  });
});
