import { describe, expect, it } from "vitest";
import { ToolInputs } from "../../src/protocol/tools.js";
import { mintToken } from "../../src/protocol/token.js";
import { run } from "../support/cli.js";
import { eventually } from "../support/harness.js";
import {
  call,
  connectLegacy,
  connectModern,
  ToolError,
  useServe,
  type McpClient,
} from "../support/mcp.js";

/**
 * Who may do what, over Streamable HTTP against a real `serve`: every tool and resource
 * (listed by the server itself, so a new one cannot escape the matrix) for agents A, B
 * (A sent B a message), C (a bystander), an admin, and callers that are not agents: no
 * token in a session, no token stateless, and a token Switchboard never minted.
 */
const fixture = useServe();

type Outcome =
  "ok" | "UNAUTHENTICATED" | "FORBIDDEN" | "NOT_FOUND" | "INVALID_INPUT" | "NAME_TAKEN";
const AGENTS = ["A", "B", "C", "admin"] as const;
const NOBODIES = ["anon", "anon-stateless", "forged"] as const;
type Who = (typeof AGENTS)[number] | (typeof NOBODIES)[number];
const NAMES: Record<(typeof AGENTS)[number], string> = { A: "a", B: "b", C: "c", admin: "root" };

interface World {
  tokens: Map<Who, string>;
  messageId: string;
  threadId: string;
  /** Leases of A: one to renew and release, one to break. */
  leaseId: string;
  breakId: string;
}

interface Case {
  /** The tool, or `resource NAME` / `subscribe NAME` for a resource. */
  covers: string;
  label?: string;
  run(client: McpClient, who: Who, world: World): Promise<unknown>;
  expected: Partial<Record<Who, Outcome>>;
  /** Callers that are not agents use a new connection (register_agent binds a session). */
  fresh?: boolean;
  /** What an allowed call must not show: other people's mail. */
  check?(who: Who, result: unknown, world: World): void;
}

const everyone = (outcome: Outcome) =>
  Object.fromEntries([...AGENTS, ...NOBODIES].map((w) => [w, outcome])) as Record<Who, Outcome>;
/** Agents may, callers that are not agents are asked to become one. */
const AGENTS_ONLY = {
  ...everyone("ok"),
  anon: "UNAUTHENTICATED",
  "anon-stateless": "UNAUTHENTICATED",
  forged: "UNAUTHENTICATED",
} as const;
/** Only the sender and the recipient of A's message to B see it. */
const PARTIES_ONLY = { ...AGENTS_ONLY, C: "NOT_FOUND", admin: "NOT_FOUND" } as const;
const ADMIN_ONLY = { ...AGENTS_ONLY, A: "FORBIDDEN", B: "FORBIDDEN", C: "FORBIDDEN" } as const;
/** A's lease: only A renews or releases it. */
const HOLDER_ONLY = { ...AGENTS_ONLY, B: "FORBIDDEN", C: "FORBIDDEN", admin: "FORBIDDEN" } as const;
/** B's inbox: B's alone. */
const B_ONLY = { ...PARTIES_ONLY, A: "NOT_FOUND" } as const;

const nameOf = (who: Who) =>
  Object.hasOwn(NAMES, who) ? NAMES[who as keyof typeof NAMES] : undefined;
function without(outcomes: Record<Who, Outcome>, who: Who): Partial<Record<Who, Outcome>> {
  const left: Partial<Record<Who, Outcome>> = { ...outcomes };
  delete left[who];
  return left;
}
const tool =
  (name: string, args: (who: Who, world: World) => Record<string, unknown>) =>
  (client: McpClient, who: Who, world: World) =>
    call(client, name, args(who, world));
const read = (uri: (world: World) => string) => (client: McpClient, _who: Who, world: World) =>
  client.readResource({ uri: uri(world) });
const ids = (result: unknown) =>
  ((result as { messages?: { message_id: string }[] }).messages ?? []).map((m) => m.message_id);
const notB = (who: Who) => who !== "B";

const CASES: Case[] = [
  {
    covers: "register_agent",
    fresh: true,
    run: tool("register_agent", (who) => ({ name: nameOf(who) ?? `newcomer-${who}` })),
    expected: { ...everyone("ok"), forged: "UNAUTHENTICATED" },
  },
  {
    covers: "register_agent",
    label: "register_agent of another's name",
    fresh: true,
    run: tool("register_agent", () => ({ name: "b" })),
    // An agent's token only updates its own name; a newcomer finds the name taken.
    expected: {
      ...everyone("NAME_TAKEN"),
      A: "INVALID_INPUT",
      B: "ok",
      C: "INVALID_INPUT",
      admin: "INVALID_INPUT",
      forged: "UNAUTHENTICATED",
    },
  },
  { covers: "heartbeat", run: tool("heartbeat", () => ({})), expected: AGENTS_ONLY },
  { covers: "list_agents", run: tool("list_agents", () => ({})), expected: AGENTS_ONLY },
  {
    covers: "send_message",
    run: tool("send_message", (who) => ({ to: [who === "B" ? "a" : "b"], body: "hi" })),
    expected: AGENTS_ONLY,
  },
  {
    covers: "fetch_inbox",
    run: tool("fetch_inbox", () => ({ limit: 100 })),
    expected: AGENTS_ONLY,
    check: (who, result, world) => {
      if (notB(who)) expect(ids(result)).not.toContain(world.messageId);
    },
  },
  {
    covers: "ack_messages",
    run: tool("ack_messages", (_who, world) => ({ message_ids: [world.messageId] })),
    expected: AGENTS_ONLY,
    check: (who, result, world) => {
      if (notB(who)) expect(result).toMatchObject({ acked: [], unknown: [world.messageId] });
    },
  },
  {
    covers: "get_message",
    run: tool("get_message", (_who, world) => ({ message_id: world.messageId })),
    expected: PARTIES_ONLY,
  },
  {
    covers: "get_thread",
    run: tool("get_thread", (_who, world) => ({ thread_id: world.threadId })),
    expected: PARTIES_ONLY,
  },
  {
    covers: "replay",
    label: "replay {thread_id}",
    run: tool("replay", (_who, world) => ({ thread_id: world.threadId })),
    expected: PARTIES_ONLY,
  },
  {
    covers: "replay",
    label: "replay {after}",
    run: tool("replay", () => ({ after: "0" })),
    expected: AGENTS_ONLY,
    check: (who, result, world) => {
      if (notB(who)) expect(ids(result)).not.toContain(world.messageId);
    },
  },
  {
    covers: "subscribe_topic",
    run: tool("subscribe_topic", () => ({ topic: "authz.matrix" })),
    expected: AGENTS_ONLY,
  },
  {
    covers: "unsubscribe_topic",
    run: tool("unsubscribe_topic", () => ({ topic: "authz.matrix" })),
    expected: AGENTS_ONLY,
  },
  { covers: "dlq_list", run: tool("dlq_list", () => ({})), expected: ADMIN_ONLY },
  { covers: "dlq_replay", run: tool("dlq_replay", () => ({ ids: ["1-0"] })), expected: ADMIN_ONLY },
  { covers: "dlq_purge", run: tool("dlq_purge", () => ({ ids: ["1-0"] })), expected: ADMIN_ONLY },
  // Notes are the team's: any agent reads and writes any note; callers that are not agents none.
  {
    covers: "put_note",
    run: tool("put_note", (who) => ({ key: "authz/plan", content: `by ${who}` })),
    expected: AGENTS_ONLY,
  },
  {
    covers: "get_note",
    run: tool("get_note", () => ({ key: "authz/plan" })),
    expected: AGENTS_ONLY,
  },
  { covers: "list_notes", run: tool("list_notes", () => ({})), expected: AGENTS_ONLY },
  {
    covers: "note_history",
    run: tool("note_history", () => ({ key: "authz/plan" })),
    expected: AGENTS_ONLY,
  },
  {
    covers: "resource note",
    run: read(() => "switchboard://notes/authz/plan"),
    expected: AGENTS_ONLY,
  },
  {
    covers: "acquire_lease",
    run: tool("acquire_lease", (who) => ({ resources: [`authz/${who}`], ttl_seconds: 60 })),
    expected: AGENTS_ONLY,
  },
  { covers: "list_leases", run: tool("list_leases", () => ({})), expected: AGENTS_ONLY },
  {
    covers: "renew_lease",
    run: tool("renew_lease", (_who, world) => ({ lease_id: world.leaseId, ttl_seconds: 60 })),
    expected: HOLDER_ONLY,
  },
  {
    covers: "break_lease",
    run: tool("break_lease", (_who, world) => ({ lease_id: world.breakId })),
    expected: ADMIN_ONLY,
  },
  {
    covers: "release_lease",
    run: tool("release_lease", (_who, world) => ({ lease_id: world.leaseId })),
    expected: HOLDER_ONLY,
  },
  { covers: "resource leases", run: read(() => "switchboard://leases"), expected: AGENTS_ONLY },
  { covers: "list_loops", run: tool("list_loops", () => ({})), expected: ADMIN_ONLY },
  {
    covers: "clear_loop",
    run: tool("clear_loop", () => ({ pair: ["a", "b"] })),
    expected: ADMIN_ONLY,
  },
  {
    covers: "resource agents",
    run: read(() => "switchboard://agents"),
    expected: AGENTS_ONLY,
  },
  {
    covers: "resource inbox",
    run: read(() => "switchboard://inbox/b"),
    expected: B_ONLY,
  },
  {
    covers: "subscribe inbox",
    run: (client) => client.subscribeResource({ uri: "switchboard://inbox/b" }),
    // Stateless clients subscribe with subscriptions/listen, not resources/subscribe.
    expected: without(B_ONLY, "anon-stateless"),
  },
  {
    covers: "resource thread",
    run: read((world) => `switchboard://thread/${world.threadId}`),
    expected: PARTIES_ONLY,
  },
  // Last: afterwards A, B, C and the admin are gone.
  { covers: "unregister_agent", run: tool("unregister_agent", () => ({})), expected: AGENTS_ONLY },
];

function connectAs(who: Who, world: World): Promise<McpClient> {
  const url = fixture.serve.url;
  if (who === "anon") return connectLegacy(url);
  if (who === "anon-stateless") return connectModern(url);
  if (who === "forged") return connectLegacy(url, "undefined");
  return connectLegacy(url, world.tokens.get(who));
}

/** What happened: ok, or the error code a tool result or a JSON-RPC error starts with. */
async function outcomeOf(work: Promise<unknown>): Promise<{ outcome: string; result?: unknown }> {
  try {
    return { outcome: "ok", result: await work };
  } catch (error) {
    const text = error instanceof ToolError ? error.text : String(error);
    return { outcome: /\b([A-Z][A-Z_]+): /.exec(text)?.[1] ?? `unexpected: ${text}` };
  }
}

async function setUp(): Promise<World> {
  const tokens = new Map<Who, string>();
  for (const who of AGENTS) {
    const client = await connectLegacy(fixture.serve.url);
    const { token } = await call<{ token: string }>(client, "register_agent", {
      name: NAMES[who],
    });
    tokens.set(who, token);
  }
  const granted = await run(["agents", "admin", NAMES.admin], fixture.env);
  expect(granted.code, granted.stderr).toBe(0);
  const a = await connectLegacy(fixture.serve.url, tokens.get("A"));
  const sent = await call<{ message_id: string; thread_id: string }>(a, "send_message", {
    to: ["b"],
    body: "for b only",
  });
  await eventually(async () => {
    const { message } = await call<{ message: { recipients: object } }>(a, "get_message", {
      message_id: sent.message_id,
    });
    return Object.hasOwn(message.recipients, "b");
  });
  const lease = (resource: string) =>
    call<{ lease_id: string }>(a, "acquire_lease", { resources: [resource], ttl_seconds: 600 });
  return {
    tokens,
    messageId: sent.message_id,
    threadId: sent.thread_id,
    leaseId: (await lease("authz-renew")).lease_id,
    breakId: (await lease("authz-break")).lease_id,
  };
}

describe("authorization", () => {
  it("has a row for every tool and resource the server offers", async () => {
    const client = await connectLegacy(fixture.serve.url);
    const { tools } = await client.listTools();
    const { resources } = await client.listResources();
    const { resourceTemplates } = await client.listResourceTemplates();
    const offered = [
      ...tools.map((t) => t.name),
      ...Object.keys(ToolInputs),
      ...resources.map((r) => `resource ${r.name}`),
      ...resourceTemplates.map((r) => `resource ${r.name}`),
      "subscribe inbox",
    ];
    const covered = new Set(CASES.map((c) => c.covers));
    expect([...new Set(offered)].filter((name) => !covered.has(name))).toEqual([]);
    expect(resourceTemplates.map((r) => r.name).sort()).toEqual(["inbox", "note", "thread"]);
  });

  it("lets each caller do exactly what it may with every tool and resource", async () => {
    const world = await setUp();
    const sessions = new Map<Who, McpClient>();
    const actual: Record<string, Partial<Record<Who, string>>> = {};
    const expected: Record<string, Partial<Record<Who, string>>> = {};
    for (const c of CASES) {
      const row = c.label ?? c.covers;
      expected[row] = c.expected;
      actual[row] = {};
      for (const who of Object.keys(c.expected) as Who[]) {
        const isAgent = world.tokens.has(who);
        const client =
          c.fresh === true && !isAgent
            ? await connectAs(who, world)
            : (sessions.get(who) ?? (await connectAs(who, world)));
        if (!(c.fresh === true && !isAgent)) sessions.set(who, client);
        const { outcome, result } = await outcomeOf(c.run(client, who, world));
        actual[row][who] = outcome;
        if (outcome === "ok") c.check?.(who, result, world);
      }
    }
    expect(actual).toEqual(expected);
  }, 120_000);
});

describe("tokens over HTTP", () => {
  it("never adopts a bearer token that belongs to nobody as a new agent's", async () => {
    const url = fixture.serve.url;
    const { token: watcherToken } = await call<{ token: string }>(
      await connectLegacy(url),
      "register_agent",
      { name: "watcher" },
    );
    const watcher = await connectLegacy(url, watcherToken);
    const unknown = mintToken();
    for (const [bearer, why] of [
      ["undefined", /^UNAUTHENTICATED: the presented token does not start with 'sbt_'/],
      [unknown, /^UNAUTHENTICATED: the presented token belongs to no agent/],
    ] as const) {
      const first = await connectLegacy(url, bearer);
      await expect(call(first, "register_agent", { name: "mallory" })).rejects.toThrow(why);
      // A second client with the same string is nobody either.
      const second = await connectModern(url, { token: bearer });
      await expect(call(second, "heartbeat")).rejects.toThrow(/^UNAUTHENTICATED: /);
    }
    const { agents } = await call<{ agents: { name: string }[] }>(watcher, "list_agents");
    expect(agents.map((a) => a.name)).not.toContain("mallory");
  });

  it("refuses the token of an unregistered agent, for its old name and any new one", async () => {
    const url = fixture.serve.url;
    const { token } = await call<{ token: string }>(await connectLegacy(url), "register_agent", {
      name: "leaver",
    });
    await call(await connectLegacy(url, token), "unregister_agent");
    for (const name of ["leaver", "newname"]) {
      const client = await connectLegacy(url, token);
      await expect(call(client, "register_agent", { name })).rejects.toThrow(
        /^UNAUTHENTICATED: the presented token belongs to no agent/,
      );
    }
    // Without a token, the name can be registered again, with a token minted anew.
    const again = await call<{ token: string }>(await connectLegacy(url), "register_agent", {
      name: "leaver",
    });
    expect(again.token).not.toBe(token);
  });

  it("lets a session whose agent was unregistered elsewhere register again", async () => {
    const url = fixture.serve.url;
    const session = await connectLegacy(url);
    const { token } = await call<{ token: string }>(session, "register_agent", { name: "gone" });
    await call(await connectLegacy(url, token), "unregister_agent");
    await expect(call(session, "heartbeat")).rejects.toThrow(/^UNAUTHENTICATED: /);
    const again = await call<{ name: string; token: string }>(session, "register_agent", {
      name: "gone",
    });
    expect(again.token).not.toBe(token);
    expect(await call(session, "heartbeat")).toMatchObject({ name: "gone" });
  });
});

describe("webhook URLs in the directory", () => {
  it("show whole to their owner and to admins, as their origin to everyone else", async () => {
    const url = fixture.serve.url;
    const webhook = "https://user:pw@hooks.example.com:8443/in?key=s3cret";
    const origin = "https://hooks.example.com:8443";
    const hookSession = await connectLegacy(url);
    const registered = await call<{ agent: { webhook_url: string } }>(
      hookSession,
      "register_agent",
      { name: "hooked", webhook_url: webhook },
    );
    expect(registered.agent.webhook_url).toBe(webhook);
    const join = async (name: string) => {
      const session = await connectLegacy(url);
      await call(session, "register_agent", { name });
      return session;
    };
    const plain = await join("plain");
    const boss = await join("boss");
    const granted = await run(["agents", "admin", "boss"], fixture.env);
    expect(granted.code, granted.stderr).toBe(0);

    const seenBy = async (client: McpClient) => {
      const { agents } = await call<{ agents: { name: string; webhook_url?: string }[] }>(
        client,
        "list_agents",
      );
      const read = await client.readResource({ uri: "switchboard://agents" });
      const first = read.contents[0];
      const listed = JSON.parse(first !== undefined && "text" in first ? first.text : "{}") as {
        agents: { name: string; webhook_url?: string }[];
      };
      const tool = agents.find((a) => a.name === "hooked")?.webhook_url;
      expect(listed.agents.find((a) => a.name === "hooked")?.webhook_url).toBe(tool);
      return tool;
    };
    expect(await seenBy(hookSession)).toBe(webhook);
    expect(await seenBy(boss)).toBe(webhook);
    expect(await seenBy(plain)).toBe(origin);
  });
});
