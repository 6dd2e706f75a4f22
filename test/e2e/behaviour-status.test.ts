import { describe, expect, it } from "vitest";
import { eventually } from "../support/harness.js";
import { call, fastPipelineWith, joinAs, useServe, type McpClient } from "../support/mcp.js";

/** Agents not heard from turn idle, then offline; any call brings them back online. */
const fixture = useServe({
  yaml: fastPipelineWith({
    agents: { idleAfterMs: 1000, offlineAfterMs: 2000, sweepIntervalMs: 200 },
  }),
});

interface Listed {
  agents: { name: string; status: string }[];
}
interface Message {
  message_id: string;
  from: string;
  type: string;
  subject?: string;
  body: Record<string, unknown>;
}

async function listed(client: McpClient, status: string): Promise<string[]> {
  const { agents } = await call<Listed>(client, "list_agents", { status });
  for (const agent of agents) expect(agent.status).toBe(status);
  return agents.map((a) => a.name);
}

describe("agent status", () => {
  it("goes idle, then offline when silent; back online on any call; told on switchboard.agents", async () => {
    const { url } = fixture.serve;
    // The watcher keeps calling (every poll below is a call), so it stays online.
    const watcher = await joinAs(url, "watcher", "legacy");
    await call(watcher.client, "subscribe_topic", { topic: "switchboard.agents" });
    const sleeper = await joinAs(url, "sleeper", "modern", ["night-shift"]);
    expect(await listed(watcher.client, "online")).toEqual(["sleeper", "watcher"]);

    await eventually(
      async () => (await listed(watcher.client, "idle")).includes("sleeper"),
      15_000,
    );
    await eventually(
      async () => (await listed(watcher.client, "offline")).includes("sleeper"),
      15_000,
    );
    expect(await listed(watcher.client, "online")).toEqual(["watcher"]);
    expect(await listed(watcher.client, "idle")).toEqual([]);

    // Nobody online or idle has the capability: `any` finds no one, and says so (once
    // routing's directory cache, rechecked every 250 ms, has seen the change).
    await new Promise((resolve) => setTimeout(resolve, 300));
    const unrouted = await call<{ message_id: string }>(watcher.client, "send_message", {
      capability: "night-shift",
      body: "anyone awake?",
    });

    // Any call counts as contact, even one that only reads.
    await call(sleeper.client, "list_agents");
    expect(await listed(watcher.client, "online")).toEqual(["sleeper", "watcher"]);

    const received: Message[] = [];
    const changes = () =>
      received
        .filter((m) => m.type === "switchboard.agent_status" && m.body.agent === "sleeper")
        .map((m) => `${String(m.body.from)}>${String(m.body.to)}`);
    await eventually(async () => {
      const { messages } = await call<{ messages: Message[] }>(watcher.client, "fetch_inbox", {
        limit: 100,
      });
      received.push(...messages);
      return changes().length >= 3 && received.some((m) => m.type === "switchboard.notice");
    }, 15_000);
    expect(changes()).toEqual(["online>idle", "idle>offline", "offline>online"]);
    for (const event of received.filter((m) => m.type === "switchboard.agent_status")) {
      expect(event).toMatchObject({
        from: "switchboard",
        subject: `${String(event.body.agent)} is ${String(event.body.to)}`,
      });
    }
    // The watcher itself never went quiet.
    expect(received.filter((m) => m.body.agent === "watcher")).toEqual([]);
    expect(received.find((m) => m.type === "switchboard.notice")).toMatchObject({
      from: "switchboard",
      body: {
        message_id: unrouted.message_id,
        status: "undeliverable",
        error: {
          code: "NO_RECIPIENT",
          message: expect.stringMatching(/no online or idle agent .*'night-shift'/),
        },
      },
    });
  });
});
