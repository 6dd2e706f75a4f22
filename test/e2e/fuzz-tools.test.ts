import { randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { describe, expect, it } from "vitest";
import { ERROR_CODES, isErrorCode } from "../../src/protocol/errors.js";
import { Keys } from "../../src/redis/keys.js";
import { ArgsFuzzer, Prng, type JsonSchema, type Known } from "../support/fuzz-args.js";
import {
  call,
  connectModern,
  joinAs,
  textOf,
  useServe,
  type Credentials,
  type RawToolResult,
} from "../support/mcp.js";

/**
 * A seeded fuzzer of tool arguments against a real `switchboard serve`, through the SDK's
 * Client: every tool of `tools/list`, as a registered (admin) agent and as a caller who is
 * none, with arguments made from each tool's input schema and then mutated. Meanwhile one
 * agent sends numbered messages to another. Reproduce a run with the seed it prints:
 * SWITCHBOARD_FUZZ_SEED=… (SWITCHBOARD_FUZZ_CALLS=… for a longer one).
 */
const SEED = Number(process.env.SWITCHBOARD_FUZZ_SEED ?? randomInt(2 ** 31));
const CALLS = Number(process.env.SWITCHBOARD_FUZZ_CALLS ?? 5000);
const CONCURRENCY = 12;
/** Messages the legitimate sender sends during the fuzz. */
const LEGIT = 100;
const CALL_TIMEOUT_MS = 30_000;

const fixture = useServe();

interface Caller {
  client: Client;
  agent: boolean;
}

interface Outcome {
  result?: RawToolResult;
  error?: unknown;
}

/**
 * A 2025-11-25 session client (cheaper per call than a stateless one, which builds a server
 * per request) presenting `auth.token`, when set, on every request: a presented token wins
 * over the agent a session remembers, so register_agent cannot turn it into another agent.
 */
async function connectSession(url: URL, auth: Credentials = {}): Promise<Client> {
  const client = new Client({ name: "fuzz", version: "1" });
  const authProvider = { token: () => Promise.resolve(auth.token) };
  await client.connect(new StreamableHTTPClientTransport(url, { authProvider }));
  return client;
}

/** What is wrong with an outcome, if anything: every failure names its code or field. */
function problemOf(outcome: Outcome): string | undefined {
  if (outcome.error !== undefined) {
    const { code, message } = outcome.error as { code?: unknown; message?: string };
    if (code === -32602 && /field `|arguments|params|name/.test(message ?? "")) return undefined;
    // A request over the body limit is refused by HTTP (413) before MCP reads it, naming the limit.
    if (/Payload Too Large: .*http\.maxBodyBytes/.test(message ?? "")) return undefined;
    const text = message ?? (outcome.error instanceof Error ? outcome.error.message : "?");
    return `threw ${String(code)}: ${text.slice(0, 300)}`;
  }
  const result = outcome.result!;
  if (result.isError !== true) return undefined;
  const text = textOf(result);
  const code = /^([A-Z_]+): /.exec(text)?.[1];
  if (code === undefined || !isErrorCode(code)) return `isError without a code: ${text}`;
  if (code === "INTERNAL" || ERROR_CODES[code].category === "transient") return text;
  if ((code === "INVALID_INPUT" || code === "TOO_LARGE") && !/field `[^`]+`/.test(text)) {
    return `names no field: ${text}`;
  }
  return undefined;
}

/** The resident set of a process, in bytes. */
function rssOf(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kb) * 1024;
}

function shown(args: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(args, (_k, v: unknown) =>
      typeof v === "string" && v.length > 80 ? `${v.slice(0, 40)}…(${v.length} chars)` : v,
    );
  } catch {
    return "(nested too deep to show)";
  }
  return text.length > 400 ? `${text.slice(0, 400)}…` : text;
}

describe("fuzzed tool arguments", () => {
  it(`never crash the server or leak, and real mail still arrives once (seed ${SEED})`, async () => {
    const { url } = fixture.serve;
    const keys = new Keys(fixture.prefix);
    const known: Known = {
      names: [],
      messageIds: [],
      threadIds: [],
      topics: ["builds.main"],
      inboxIds: [],
    };
    const rng = new Prng(SEED);
    const fuzzer = new ArgsFuzzer(rng, known, SEED);

    // The fuzzing agent (admin, so the dlq_* tools run), re-made whenever it unregisters.
    const auth: Credentials = {};
    let rejoins = 0;
    const join = async (): Promise<void> => {
      const name = `fuzz-${rejoins++}`;
      const { token } = await call<{ token: string }>(await connectModern(url), "register_agent", {
        name,
      });
      await fixture.redis.hset(keys.agent(name), "role", "admin");
      auth.token = token;
      known.names.push(name);
    };
    await join();
    const [sender, receiver] = await Promise.all([
      joinAs(url, "legit-b", "legacy"),
      joinAs(url, "legit-c", "legacy"),
    ]);
    known.names.push("legit-b", "legit-c", "nobody-here");
    const callers: Caller[] = [
      { client: await connectSession(url, auth), agent: true },
      { client: await connectSession(url), agent: false },
    ];
    const clients = [...callers.map((c) => c.client)];
    const { tools } = await callers[0]!.client.listTools();
    expect(tools.map((t) => t.name)).toContain("send_message");

    const pid = fixture.serve.child.pid!;
    const rssBefore = rssOf(pid);
    const problems: string[] = [];
    const counts = new Map<string, number>();
    let done = 0;
    let rejoining: Promise<void> = Promise.resolve();

    // The legitimate traffic: legit-b sends message n when the fuzz is n/LEGIT through.
    let sent = 0;
    const sendLegit = async () => {
      while (sent < LEGIT && sent * CALLS <= done * LEGIT) {
        const n = sent++;
        await call(sender.client, "send_message", { to: ["legit-c"], body: { n } });
      }
    };
    const received = new Map<number, number>();
    let fuzzing = true;
    let drainUntil = Infinity;
    const receive = async () => {
      while (fuzzing || (received.size < LEGIT && Date.now() < drainUntil)) {
        const { messages } = await call<{
          messages: { message_id: string; from: string; body: { n: number } }[];
        }>(receiver.client, "fetch_inbox", { limit: 100, wait_seconds: 1 });
        for (const m of messages) {
          if (m.from === "legit-b") received.set(m.body.n, (received.get(m.body.n) ?? 0) + 1);
        }
        if (messages.length > 0) {
          await call(receiver.client, "ack_messages", {
            message_ids: messages.map((m) => m.message_id),
          });
        }
      }
    };
    const receiving = receive();

    let rssHalfway = 0;
    const fuzzOne = async (i: number) => {
      const caller = rng.chance(0.7) ? callers[0]! : callers[1]!;
      const tool = rng.pick(tools);
      const args = fuzzer.args(tool.name, tool.inputSchema as JsonSchema);
      counts.set(tool.name, (counts.get(tool.name) ?? 0) + 1);
      const outcome: Outcome = await caller.client
        .callTool({ name: tool.name, arguments: args }, { timeout: CALL_TIMEOUT_MS })
        .then(
          (result) => ({ result: result as RawToolResult }),
          (error: unknown) => ({ error }),
        );
      const problem = problemOf(outcome);
      if (problem !== undefined) {
        const who = caller.agent ? "agent" : "non-agent";
        problems.push(`#${i} ${tool.name} as ${who} ${shown(args)}: ${problem}`);
      }
      const data = outcome.result?.isError === true ? undefined : outcome.result?.structuredContent;
      if (data !== undefined && !caller.agent && tool.name === "register_agent") {
        // The session is that agent now: a new one, so that this caller stays no agent.
        const client = await connectSession(url);
        clients.push(client);
        callers[1] = { client, agent: false };
      }
      if (data !== undefined && caller.agent) {
        if (typeof data.message_id === "string") known.messageIds.push(data.message_id);
        if (typeof data.thread_id === "string") known.threadIds.push(data.thread_id);
        if (tool.name === "unregister_agent") rejoining = rejoining.then(join);
      }
      done += 1;
      if (done === Math.floor(CALLS / 2)) rssHalfway = rssOf(pid);
      await sendLegit();
    };

    let next = 0;
    const worker = async () => {
      while (next < CALLS) {
        await fuzzOne(next++);
        await rejoining;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await sendLegit();
    drainUntil = Date.now() + 30_000;
    fuzzing = false;
    await receiving;

    await Promise.allSettled(clients.map((client) => client.close()));
    const report = `seed ${SEED} (rerun: SWITCHBOARD_FUZZ_SEED=${SEED} SWITCHBOARD_FUZZ_CALLS=${CALLS}); calls per tool: ${JSON.stringify(Object.fromEntries(counts))}`;
    expect(problems.slice(0, 10), report).toEqual([]);
    expect(done, report).toBe(CALLS);
    expect(counts.size, report).toBe(tools.length);
    expect(fixture.serve.child.exitCode, report).toBeNull();
    // Bounded: a generous ceiling, well above the heap's working size under these calls
    // (bodies up to the size limit, huge strings) and the garbage it has not returned yet.
    const rssEnd = rssOf(pid);
    const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;
    const rss = `RSS ${mib(rssBefore)} → ${mib(rssHalfway)} halfway → ${mib(rssEnd)}`;
    expect(rssEnd, `${report}; ${rss}`).toBeLessThan(3 * rssBefore + 200 * 2 ** 20);
    const log = fixture.serve.stderr();
    expect(log.match(/.*INTERNAL.*/)?.[0], report).toBeUndefined();
    expect(log.match(/.*\\n\s+at .*/)?.[0], report).toBeUndefined();
    // Each legitimate message arrived, and once.
    const twice = [...received].filter(([, times]) => times !== 1);
    expect({ received: received.size, twice }, report).toEqual({ received: LEGIT, twice: [] });
  }, 240_000);
});
