import { beforeAll, describe, expect, it } from "vitest";
import { ROUTES } from "../../src/api/routes.js";
import { mintToken } from "../../src/protocol/token.js";
import { eventually } from "../support/harness.js";
import { callRaw, connectModern, textOf, useServe } from "../support/mcp.js";

/**
 * Who may do what over `/v1`, against a real `serve`: every route (read from the route
 * table, so a new one cannot escape the matrix) for agents A, B (A sent B a message), C (a
 * bystander), and callers that are not agents: no token, a token Switchboard never
 * minted, and a header that is no token. An agent reads only what it may: another's
 * message or thread is NOT_FOUND, as the tools answer it.
 */
const fixture = useServe();

const AGENTS = ["A", "B", "C"] as const;
const NOBODIES = ["anon", "forged", "garbled"] as const;
type Who = (typeof AGENTS)[number] | (typeof NOBODIES)[number];
type Outcome = "ok" | "UNAUTHENTICATED" | "NOT_FOUND" | "INVALID_INPUT";
const NAMES: Record<(typeof AGENTS)[number], string> = { A: "a", B: "b", C: "c" };

interface World {
  headers: Map<Who, Record<string, string>>;
  messageId: string;
  threadId: string;
}

interface Case {
  /** `METHOD /v1/path` as the route table writes it. */
  covers: string;
  request(who: Who, world: World): { path: string; body?: unknown };
  expected: Record<Who, Outcome>;
  /** What an allowed call must not show: other people's mail. */
  check?(who: Who, json: Record<string, unknown>, world: World): void;
}

const AGENTS_ONLY: Record<Who, Outcome> = {
  A: "ok",
  B: "ok",
  C: "ok",
  anon: "UNAUTHENTICATED",
  forged: "UNAUTHENTICATED",
  garbled: "UNAUTHENTICATED",
};
/** Only the sender and the recipient of A's message to B see it. */
const PARTIES_ONLY: Record<Who, Outcome> = { ...AGENTS_ONLY, C: "NOT_FOUND" };

const CASES: Case[] = [
  {
    covers: "POST /v1/agents",
    // Each caller registers a name of its own; an agent may only update its own.
    request: (who) => ({ path: "/v1/agents", body: { name: `new-${who}` } }),
    expected: {
      A: "INVALID_INPUT",
      B: "INVALID_INPUT",
      C: "INVALID_INPUT",
      anon: "ok",
      forged: "UNAUTHENTICATED",
      garbled: "ok",
    },
  },
  {
    covers: "GET /v1/agents",
    request: () => ({ path: "/v1/agents" }),
    expected: AGENTS_ONLY,
  },
  {
    covers: "POST /v1/messages",
    request: () => ({ path: "/v1/messages", body: { to: ["c"], body: "ping" } }),
    expected: AGENTS_ONLY,
  },
  {
    covers: "GET /v1/messages/{id}",
    request: (_who, world) => ({ path: `/v1/messages/${world.messageId}` }),
    expected: PARTIES_ONLY,
  },
  {
    covers: "GET /v1/threads/{id}",
    request: (_who, world) => ({ path: `/v1/threads/${world.threadId}` }),
    expected: PARTIES_ONLY,
  },
  {
    covers: "GET /v1/inbox",
    request: () => ({ path: "/v1/inbox?limit=100" }),
    expected: AGENTS_ONLY,
    check(who, json, world) {
      const ids = (json.messages as { message_id: string }[]).map((m) => m.message_id);
      if (who !== "B") expect(ids).not.toContain(world.messageId);
    },
  },
  {
    covers: "POST /v1/inbox/ack",
    request: (_who, world) => ({ path: "/v1/inbox/ack", body: { message_ids: [world.messageId] } }),
    expected: AGENTS_ONLY,
    check(who, json, world) {
      // Only B's inbox holds the message: anyone else's ack finds nothing of theirs.
      if (who !== "B") expect(json.unknown).toEqual([world.messageId]);
    },
  },
];

async function request(
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(new URL(path, fixture.serve.url), {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

const world = {} as World;

beforeAll(async () => {
  world.headers = new Map<Who, Record<string, string>>([
    ["anon", {}],
    ["forged", { authorization: `Bearer ${mintToken()}` }],
    ["garbled", { authorization: "Bearer" }],
  ]);
  for (const who of AGENTS) {
    const { json } = await request("/v1/agents", {}, { name: NAMES[who] });
    world.headers.set(who, { authorization: `Bearer ${json.token as string}` });
  }
  const sent = await request("/v1/messages", world.headers.get("A")!, { to: ["b"], body: "for b" });
  world.messageId = sent.json.message_id as string;
  world.threadId = sent.json.thread_id as string;
  // Delivered to B before the matrix runs, so that B's ack finds it.
  await eventually(async () => {
    const { json } = await request(`/v1/messages/${world.messageId}`, world.headers.get("A")!);
    const recipients = (json.message as { recipients: Record<string, unknown> }).recipients;
    return Object.keys(recipients).length > 0;
  });
});

describe("the /v1 authorization matrix", () => {
  it("covers every route", () => {
    expect(CASES.map((c) => c.covers).sort()).toEqual(
      ROUTES.map((route) => `${route.method} ${route.path}`).sort(),
    );
  });

  for (const testCase of CASES) {
    for (const who of [...AGENTS, ...NOBODIES]) {
      const expected = testCase.expected[who];
      it(`${testCase.covers} by ${who}: ${expected}`, async () => {
        const { path, body } = testCase.request(who, world);
        const { status, json } = await request(path, world.headers.get(who)!, body);
        if (expected === "ok") {
          expect(status, JSON.stringify(json)).toBeLessThan(300);
          testCase.check?.(who, json, world);
        } else {
          expect(json.code, JSON.stringify(json)).toBe(expected);
        }
      });
    }
  }

  it("answers another agent's message and thread NOT_FOUND, as the tools do", async () => {
    const token = world.headers.get("C")!.authorization!.slice("Bearer ".length);
    const client = await connectModern(fixture.serve.url, { token });
    for (const [tool, args] of [
      ["get_message", { message_id: world.messageId }],
      ["get_thread", { thread_id: world.threadId }],
    ] as const) {
      const result = await callRaw(client, tool, args);
      expect(textOf(result)).toMatch(/^NOT_FOUND: /);
    }
  });
});
