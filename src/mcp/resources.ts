import {
  ProtocolError,
  ProtocolErrorCode,
  ResourceNotFoundError,
  ResourceTemplate,
  type McpServer,
  type ReadResourceResult,
} from "@modelcontextprotocol/server";
import type { z } from "zod";
import { ThreadIdSchema } from "../protocol/envelope.js";
import { NoteKeySchema } from "../protocol/note.js";
import { SwitchboardError } from "../protocol/errors.js";
import type { Caller } from "./identity.js";
import type { ToolDeps } from "./tool.js";

export const AGENTS_URI = "switchboard://agents";
export const LEASES_URI = "switchboard://leases";
const INBOX_PREFIX = "switchboard://inbox/";
const NOTES_PREFIX = "switchboard://notes/";
/** How many waiting messages an inbox resource shows. */
const INBOX_PEEK = 20;

export function inboxUri(agent: string): string {
  return `${INBOX_PREFIX}${agent}`;
}

/**
 * The agent directory, the live resource leases, your inbox (a peek: nothing is taken), and threads you are part
 * of. With `subscriptions` (2025-11-25 sessions, stdio) `resources/subscribe` accepts your
 * own inbox; 2026-07-28 clients subscribe with `subscriptions/listen` instead.
 */
export function registerResources(
  server: McpServer,
  deps: ToolDeps,
  subscriptions: Set<string> | undefined,
): void {
  const { service, identity } = deps;
  server.registerResource(
    "agents",
    AGENTS_URI,
    {
      title: "Agents",
      description:
        "Every registered agent and its status (webhook URLs as their origin, but your own). Agents only.",
      mimeType: "application/json",
    },
    async (uri, ctx) =>
      guarded(uri.href, deps, async () => {
        const caller = await identity.require(ctx);
        return json(uri, { agents: await service.listAgents(caller.agent) });
      }),
  );
  server.registerResource(
    "leases",
    LEASES_URI,
    {
      title: "Leases",
      description:
        "Every live resource lease (holder, resources, exclusive or shared, fencing token, expiry), " +
        "soonest to expire first. Agents only.",
      mimeType: "application/json",
    },
    async (uri, ctx) =>
      guarded(uri.href, deps, async () => {
        await identity.require(ctx);
        return json(uri, { leases: await service.leases.list() });
      }),
  );
  server.registerResource(
    "inbox",
    new ResourceTemplate(`${INBOX_PREFIX}{agent}`, {
      list: async (ctx) => {
        const caller = await identity.optional(ctx);
        const own = caller === undefined ? [] : [caller.agent];
        return { resources: own.map((a) => ({ uri: inboxUri(a), name: `inbox of ${a}` })) };
      },
    }),
    {
      title: "Your inbox",
      description:
        "Your unread count, the age of the oldest waiting message and the waiting messages from it on " +
        "(a peek: fetch_inbox takes them). Subscribe to hear when mail arrives. Only your own.",
      mimeType: "application/json",
    },
    async (uri, _vars, ctx) =>
      guarded(uri.href, deps, async () => {
        const caller = ownInbox(uri.href, await identity.require(ctx));
        return json(uri, await peek(deps, caller.agent));
      }),
  );
  server.registerResource(
    "thread",
    new ResourceTemplate("switchboard://thread/{thread_id}", { list: undefined }),
    {
      title: "A thread",
      description: "The messages of a thread you sent or received, in order.",
      mimeType: "application/json",
    },
    async (uri, vars, ctx) =>
      guarded(uri.href, deps, async () => {
        const caller = await identity.require(ctx);
        const threadId = threadIdOf(vars.thread_id);
        return json(uri, {
          thread_id: threadId,
          messages: await service.getThread(caller.agent, threadId),
        });
      }),
  );
  registerNoteResource(server, deps);
  if (subscriptions !== undefined) registerSubscriptions(server, deps, subscriptions);
}

/**
 * `switchboard://notes/{key}`: a shared note's latest version. The template is written
 * `{+key}` (RFC 6570 reserved expansion) so that a key with slashes, `plans/auth`, is
 * `switchboard://notes/plans/auth`; a client that percent-encodes the slash is read too.
 */
function registerNoteResource(server: McpServer, deps: ToolDeps): void {
  const { service, identity } = deps;
  server.registerResource(
    "note",
    new ResourceTemplate(`${NOTES_PREFIX}{+key}`, {
      list: async (ctx) => {
        if ((await identity.optional(ctx)) === undefined) return { resources: [] };
        const { notes } = await service.notes.list();
        return {
          resources: notes.map((n) => ({ uri: `${NOTES_PREFIX}${n.key}`, name: `note ${n.key}` })),
        };
      },
    }),
    {
      title: "A shared note",
      description:
        "A shared note's latest version: content, version, author and time (put_note writes it). Agents only.",
      mimeType: "application/json",
    },
    async (uri, vars, ctx) =>
      guarded(uri.href, deps, async () => {
        await identity.require(ctx);
        return json(uri, await service.notes.get(noteKeyOf(vars.key)));
      }),
  );
}

/** The note key of a note URI (percent-decoded); a JSON-RPC error with the rule if it is not one. */
function noteKeyOf(value: unknown): string {
  let key = typeof value === "string" ? value : "";
  try {
    key = decodeURIComponent(key);
  } catch {
    // Not percent-encoding after all: checked as it is.
  }
  return templateVar(NoteKeySchema, key, `${NOTES_PREFIX}{key}`, "not a note key");
}

function registerSubscriptions(
  server: McpServer,
  deps: ToolDeps,
  subscriptions: Set<string>,
): void {
  server.server.setRequestHandler("resources/subscribe", async (request, ctx) => {
    const uri = request.params.uri;
    await guarded(uri, deps, async () => ownInbox(uri, await deps.identity.require(ctx)));
    subscriptions.add(uri);
    return {};
  });
  server.server.setRequestHandler("resources/unsubscribe", (request) => {
    subscriptions.delete(request.params.uri);
    return {};
  });
}

/** The thread id of a thread URI; a JSON-RPC error saying what one looks like if it is not one. */
function threadIdOf(value: unknown): string {
  return templateVar(ThreadIdSchema, value, "switchboard://thread/{thread_id}", "not a thread id");
}

/** A URI template's variable, checked by its schema; else a JSON-RPC error with the rule. */
function templateVar(schema: z.ZodType<string>, value: unknown, template: string, what: string) {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new ProtocolError(
    ProtocolErrorCode.InvalidParams,
    `${template}: ${parsed.error.issues[0]?.message ?? what}`,
  );
}

/**
 * The caller, when `uri` is the caller's inbox; NOT_FOUND naming the right URI if not,
 * as for another agent's message or thread.
 */
function ownInbox(uri: string, caller: Caller): Caller {
  if (uri === inboxUri(caller.agent)) return caller;
  throw new SwitchboardError(
    "NOT_FOUND",
    `only your own inbox can be read or subscribed to: ${inboxUri(caller.agent)}`,
    { field: "uri" },
  );
}

/** The digest and the messages waiting, oldest first; nothing is taken. */
async function peek(deps: ToolDeps, agent: string) {
  const [digest, messages] = await Promise.all([
    deps.service.digest(agent),
    deps.service.waitingMail(agent, INBOX_PEEK),
  ]);
  return {
    agent,
    ...digest,
    messages,
    hint: "fetch_inbox takes messages; ack_messages when handled",
  };
}

function json(uri: URL, value: unknown): ReadResourceResult {
  return {
    contents: [{ uri: uri.href, mimeType: "application/json", text: JSON.stringify(value) }],
  };
}

/** Runs a resource request; Switchboard errors become JSON-RPC errors with the same text. */
async function guarded<T>(uri: string, deps: ToolDeps, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ProtocolError) throw error;
    if (error instanceof SwitchboardError) {
      const text = `${error.code}: ${error.message}`;
      if (error.code === "NOT_FOUND") throw new ResourceNotFoundError(uri, text);
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, text);
    }
    deps.log.error("resource request failed", { uri, error: String(error) });
    throw new ProtocolError(ProtocolErrorCode.InternalError, "internal error, logged");
  }
}
