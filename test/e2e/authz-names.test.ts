import type { Client } from "@modelcontextprotocol/client";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AgentNameSchema } from "../../src/protocol/envelope.js";
import { eventually } from "../support/harness.js";
import { call, connectLegacy, ToolError, useServe } from "../support/mcp.js";

/**
 * An agent reads only messages it sent or received, whatever its name: names that are
 * also properties of every plain object (`constructor`, `toString`, …) among them.
 * Through get_message, get_thread, replay {thread_id} and the thread resource.
 */
const fixture = useServe();

const PROTOTYPE_NAMES = [
  ...new Set([...Object.getOwnPropertyNames(Object.prototype), "__proto__"]),
];
const isAgentName = (name: string) =>
  AgentNameSchema.safeParse(name).success && name !== "switchboard";
const ALLOWED = PROTOTYPE_NAMES.filter(isAgentName);
const REFUSED = PROTOTYPE_NAMES.filter((name) => !isAgentName(name));

const nameArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...ALLOWED) },
  {
    weight: 1,
    arbitrary: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,15}$/).filter(isAgentName),
  },
);

interface View {
  message_id: string;
  from: string;
  recipients?: Record<string, unknown>;
}

/** Registered agents of this file, by name: each name is registered once, on first use. */
const agents = new Map<string, Client>();

async function agent(name: string): Promise<Client> {
  const known = agents.get(name);
  if (known !== undefined) return known;
  const joining = await connectLegacy(fixture.serve.url);
  const { token } = await call<{ token: string }>(joining, "register_agent", { name });
  // A client of its own presenting the token, as a long-lived agent would.
  const client = await connectLegacy(fixture.serve.url, token);
  agents.set(name, client);
  return client;
}

/** Whether `name` sent or received the message: own keys only, as the server must check. */
const isParty = (view: View, name: string) =>
  view.from === name || (view.recipients !== undefined && Object.hasOwn(view.recipients, name));

/** What each path shows `client` of a message and its thread; NOT_FOUND as `null`. */
async function readThrough(client: Client, messageId: string, threadId: string) {
  const orNull = <T>(work: Promise<T>) =>
    work.catch((error: unknown) => {
      const text = error instanceof ToolError ? error.text : String(error);
      expect(text).toMatch(/NOT_FOUND: /);
      return null;
    });
  const uri = `switchboard://thread/${threadId}`;
  return {
    get_message: await orNull(
      call<{ message: View }>(client, "get_message", { message_id: messageId }).then((r) => [
        r.message,
      ]),
    ),
    get_thread: await orNull(
      call<{ messages: View[] }>(client, "get_thread", { thread_id: threadId }).then(
        (r) => r.messages,
      ),
    ),
    replay: await orNull(
      call<{ messages: View[] }>(client, "replay", { thread_id: threadId }).then((r) => r.messages),
    ),
    thread_resource: await orNull(
      client.readResource({ uri }).then((r) => {
        const content = r.contents[0];
        const text = content !== undefined && "text" in content ? content.text : "{}";
        return (JSON.parse(text) as { messages: View[] }).messages;
      }),
    ),
  };
}

describe("message visibility by agent name", () => {
  it("refuses to register the Object.prototype names the name schema refuses", async () => {
    expect(ALLOWED).toEqual(expect.arrayContaining(["constructor", "toString", "valueOf"]));
    expect(REFUSED).toContain("__proto__");
    const client = await connectLegacy(fixture.serve.url);
    for (const name of REFUSED) {
      await expect(call(client, "register_agent", { name }), name).rejects.toThrow(
        /^INVALID_INPUT: field `name`: an agent name is 1-64 characters/,
      );
    }
  });

  it("shows a message only to its sender and recipients, whatever their names", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(nameArb, { minLength: 3, maxLength: 3 }),
        async ([sender, recipient, outsider]) => {
          for (const name of [sender!, recipient!, outsider!]) await agent(name);
          const from = await agent(sender!);
          const sent = await call<{ message_id: string; thread_id: string }>(from, "send_message", {
            to: [recipient],
            body: { to: recipient },
          });
          // Readable by the recipient once routing has recorded it as one.
          await eventually(async () => {
            const { message } = await call<{ message: View }>(from, "get_message", {
              message_id: sent.message_id,
            });
            return isParty(message, recipient!);
          });
          for (const name of [sender!, recipient!, outsider!]) {
            const seen = await readThrough(await agent(name), sent.message_id, sent.thread_id);
            const party = name !== outsider;
            for (const [path, views] of Object.entries(seen)) {
              const ids = views?.map((v) => v.message_id) ?? null;
              if (party) expect(ids, `${name} through ${path}`).toContain(sent.message_id);
              else expect(views, `${outsider} (not a party) through ${path}`).toBeNull();
              for (const view of views ?? []) expect(isParty(view, name), path).toBe(true);
            }
          }
        },
      ),
      { numRuns: 25 },
    );
  }, 180_000);
});
