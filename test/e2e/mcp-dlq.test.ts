import { describe, expect, it } from "vitest";
import { composeEnvelope } from "../../src/protocol/compose.js";
import { Keys } from "../../src/redis/keys.js";
import { run } from "../support/cli.js";
import { seedDeadLetters, seedReplayable } from "../support/dlq.js";
import { eventually } from "../support/harness.js";
import {
  call,
  callRaw,
  connectModern,
  joinAs,
  textOf,
  ToolError,
  useServe,
  type Fetched,
  type McpClient,
} from "../support/mcp.js";
import { WebhookServer } from "../support/webhook-server.js";

/** The admin tools over MCP: refused to ordinary agents, working for admins. */
const fixture = useServe();

interface Listed {
  dead_letters: { id: string; stage: string; from?: string; code: string }[];
  next_cursor: string | null;
  depth: number;
}

/** The text of an isError result. */
async function refusal(client: McpClient, tool: string, args: Record<string, unknown> = {}) {
  const error = await call(client, tool, args).catch((e: unknown) => e);
  expect(error, `${tool} ${JSON.stringify(args)}`).toBeInstanceOf(ToolError);
  return (error as ToolError).text;
}

async function cli(...args: string[]) {
  const result = await run(args, fixture.env);
  expect(result.code, result.stderr).toBe(0);
  return result.stdout;
}

describe("the dlq_* admin tools", () => {
  it("are refused to agents that are not admin, with the way to become one", async () => {
    const { client } = await joinAs(fixture.serve.url, "worker", "modern");
    for (const tool of ["dlq_list", "dlq_replay", "dlq_purge"]) {
      const args = tool === "dlq_list" ? {} : { all: true };
      expect(await refusal(client, tool, args)).toMatch(
        new RegExp(
          `^FORBIDDEN: ${tool} is an admin tool and 'worker' is not an admin agent; an operator with access to Redis grants it: \`switchboard agents admin worker\``,
        ),
      );
    }
    // register_agent cannot make anyone admin.
    expect(await refusal(client, "register_agent", { name: "worker", role: "admin" })).toMatch(
      /^INVALID_INPUT: field `role`: unknown argument/,
    );
  });

  it("let an admin list dead letters and replay one into the pipeline, once", async () => {
    const { url } = fixture.serve;
    const ops = await joinAs(url, "ops", "legacy");
    const bob = await joinAs(url, "bob", "v1");
    expect(await cli("agents", "admin", "ops")).toBe("ops is admin\n");
    const { agents } = await call<{ agents: { name: string; role?: string }[] }>(
      ops.client,
      "list_agents",
    );
    expect(agents.find((a) => a.name === "ops")?.role).toBe("admin");
    expect(agents.find((a) => a.name === "bob")?.role).toBeUndefined();
    // Updating its registration (with its token) keeps the role.
    await call(ops.client, "register_agent", { name: "ops", description: "operations" });

    // A message that died in validate, carrying its envelope, as a producer's entry may.
    const envelope = composeEnvelope({ from: "ops", to: ["bob"], body: "again" });
    const id = await seedReplayable(
      fixture.redis,
      new Keys(fixture.prefix).stream("dead"),
      envelope,
    );
    const listed = await call<Listed>(ops.client, "dlq_list", { agent: "ops" });
    expect(listed).toMatchObject({
      dead_letters: [{ id, stage: "validate", from: "ops", code: "POISON" }],
      next_cursor: null,
      depth: 1,
    });
    expect(
      (await call<Listed>(ops.client, "dlq_list", { older_than_seconds: 3600 })).dead_letters,
    ).toEqual([]);

    const replay = await callRaw(ops.client, "dlq_replay", { ids: [id, "1-0"] });
    expect(replay.structuredContent).toMatchObject({
      replayed: 1,
      not_found: 1,
      results: [
        { id, result: "replayed", entry_id: expect.any(String) },
        { id: "1-0", result: "not_found" },
      ],
    });
    expect(textOf(replay)).toMatch(/^replayed 1 of 2 dead letters; no dead letter 1-0 .*dlq_list/);
    const fetched = await call<Fetched>(bob.client, "fetch_inbox", { wait_seconds: 15 });
    expect(fetched.messages.map((m) => [m.message_id, m.body])).toEqual([[envelope.id, "again"]]);
    expect(await call(ops.client, "dlq_replay", { ids: [id] })).toMatchObject({
      replayed: 0,
      already_replayed: 1,
    });

    expect(await cli("agents", "admin", "ops", "--revoke")).toBe("ops is no longer admin\n");
    expect(await refusal(ops.client, "dlq_list")).toMatch(/^FORBIDDEN: /);
  });

  it("let an admin replay by message id: each of its dead letters, once", async () => {
    let refusing = true;
    const server = await WebhookServer.start(() => ({ status: refusing ? 400 : 204 }));
    try {
      const { url } = fixture.serve;
      const ops = await joinAs(url, "ops2", "modern");
      await cli("agents", "admin", "ops2");
      for (const name of ["wh1", "wh2"]) {
        await call(await connectModern(url), "register_agent", {
          name,
          webhook_url: server.url.replace("/hook", `/${name}`),
        });
      }
      const { message_id } = await call<{ message_id: string }>(ops.client, "send_message", {
        to: ["wh1", "wh2"],
        body: "refused, then taken",
      });
      const dead = await eventually(async () => {
        const listed = await call<Listed>(ops.client, "dlq_list", { stage: "deliver" });
        return listed.dead_letters.length === 2 && listed.dead_letters.map((d) => d.id);
      }, 20_000);
      refusing = false;
      const ordered = [...dead].reverse(); // dlq_list is newest first; a message's are oldest first

      const replay = await callRaw(ops.client, "dlq_replay", { ids: [message_id] });
      expect(replay.structuredContent).toMatchObject({
        replayed: 2,
        results: ordered.map((id) => ({ id, message_id, result: "replayed" })),
      });
      expect(textOf(replay)).toMatch(
        new RegExp(
          `^replayed 2 of 2 dead letters \\(message ${message_id}: ${ordered.join(", ")}\\);`,
        ),
      );
      await eventually(() => Promise.resolve(server.deliveries(message_id) === 2), 20_000);
      expect(await call(ops.client, "dlq_replay", { ids: [message_id] })).toMatchObject({
        replayed: 0,
        already_replayed: 2,
        results: ordered.map((id) => ({ id, message_id, result: "already_replayed" })),
      });
      expect(server.deliveries(message_id)).toBe(2);
    } finally {
      await server.close();
    }
  });

  it("purge what a filter selects, and refuse a selection that is not one", async () => {
    const { client } = await joinAs(fixture.serve.url, "janitor", "modern");
    await cli("agents", "admin", "janitor");
    const now = Date.now();
    await seedDeadLetters(fixture.redis, new Keys(fixture.prefix).stream("dead"), [
      { at: now - 1, stage: "persist", mid: "p1" },
      { at: now, stage: "route", mid: "r1" },
    ]);
    expect(await call(client, "dlq_purge", { all: true, stage: "persist" })).toEqual({
      purged: 1,
      not_found: 0,
      inbox: expect.any(Object),
    });
    expect((await call<Listed>(client, "dlq_list")).dead_letters.map((d) => d.stage)).toEqual([
      "route",
    ]);
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        {},
        /^INVALID_INPUT: field `ids`: name the dead letters \(`ids`, from dlq_list\) or give `all: true`/,
      ],
      [
        { ids: ["x"] },
        /^INVALID_INPUT: field `ids\[0\]`: a dead-letter id such as `1732430000000-0`/,
      ],
      [{ ids: ["1-0"], all: true }, /^INVALID_INPUT: field `all`: give `ids` or `all`, not both/],
      [
        { ids: ["1-0"], stage: "route" },
        /field `stage`: `stage` selects dead letters for `all: true`/,
      ],
    ];
    for (const [args, expected] of cases) {
      expect(await refusal(client, "dlq_purge", args)).toMatch(expected);
    }
  });
});
