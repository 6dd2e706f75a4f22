import { describe, expect, it } from "vitest";
import { eventually } from "../support/harness.js";
import {
  call,
  closeClients,
  connectLegacy,
  connectModern,
  joinAs,
  startServe,
  useServe,
  type McpClient,
  type Fetched,
} from "../support/mcp.js";

/** Replay: pages of an inbox by a cursor that survives a restart, and threads in order. */
const fixture = useServe();

interface Replayed {
  message_id: string;
  inbox_id?: string;
  from: string;
  body: unknown;
  seq?: number;
  recipients?: Record<string, { status: string }>;
}
interface Page {
  messages: Replayed[];
  next_cursor: string | null;
}

const replay = (client: McpClient, args: Record<string, unknown>) =>
  call<Page>(client, "replay", args);

/** Drops the digest, which is about the inbox now, not about what was replayed. */
const page = ({ messages, next_cursor }: Page): Page => ({ messages, next_cursor });

async function send(client: McpClient, args: Record<string, unknown>): Promise<string> {
  return (await call<{ message_id: string }>(client, "send_message", args)).message_id;
}

/** Whether inbox id `a` (`ms-seq`) comes before `b`. */
function before(a: string, b: string): boolean {
  const [am, as] = a.split("-").map(Number) as [number, number];
  const [bm, bs] = b.split("-").map(Number) as [number, number];
  return am < bm || (am === bm && as < bs);
}

/** Fetches until `count` messages came, acking them; returns their ids. */
async function takeAll(client: McpClient, count: number): Promise<string[]> {
  const ids: string[] = [];
  await eventually(async () => {
    const { messages } = await call<Fetched>(client, "fetch_inbox", { wait_seconds: 1 });
    if (messages.length > 0) {
      await call(client, "ack_messages", { message_ids: messages.map((m) => m.message_id) });
    }
    ids.push(...messages.map((m) => m.message_id));
    return ids.length >= count;
  }, 15_000);
  return ids;
}

describe("replay", () => {
  it("pages an inbox from a cursor that is stable across a restart; threads in order", async () => {
    const xena = await joinAs(fixture.serve.url, "xena", "modern");
    const yuri = await joinAs(fixture.serve.url, "yuri", "legacy");

    // A thread of three (yuri asks, xena answers, yuri follows up), then three more.
    const question = await send(yuri.client, { to: ["xena"], subject: "q", body: "question" });
    await takeAll(xena.client, 1);
    const answer = await send(xena.client, { to: ["yuri"], reply_to: question, body: "answer" });
    await takeAll(yuri.client, 1);
    const followUp = await send(yuri.client, {
      to: ["xena"],
      thread_id: question,
      reply_to: answer,
      body: "follow-up",
    });
    const others: string[] = [];
    for (const n of [1, 2, 3]) others.push(await send(yuri.client, { to: ["xena"], body: n }));
    // Replay hands out acknowledged mail too.
    expect((await takeAll(xena.client, 4)).sort()).toEqual([followUp, ...others].sort());

    const all = page(await replay(xena.client, { after: "0", limit: 50 }));
    expect(all.next_cursor).toBeNull();
    expect(all.messages.map((m) => m.message_id).sort()).toEqual(
      [question, followUp, ...others].sort(),
    );
    const cursors = all.messages.map((m) => m.inbox_id!);
    expect(cursors.every((id, i) => i === 0 || before(cursors[i - 1]!, id))).toBe(true);

    const first = page(await replay(xena.client, { after: "0", limit: 2 }));
    expect(first).toEqual({ messages: all.messages.slice(0, 2), next_cursor: cursors[1] });
    const second = page(await replay(xena.client, { after: first.next_cursor, limit: 2 }));
    expect(second).toEqual({ messages: all.messages.slice(2, 4), next_cursor: cursors[3] });
    expect(page(await replay(xena.client, { after: first.next_cursor, limit: 2 }))).toEqual(second);

    // The thread, in order, once every status in it has settled (all acked).
    const thread = await eventually(async () => {
      const replayed = page(await replay(xena.client, { thread_id: question }));
      const statuses = replayed.messages.flatMap((m) =>
        Object.values(m.recipients ?? {}).map((s) => s.status),
      );
      return statuses.length === 3 && statuses.every((s) => s === "acked") ? replayed : undefined;
    }, 15_000);
    expect(thread.next_cursor).toBeNull();
    expect(thread.messages.map((m) => [m.seq, m.message_id, m.from, m.body])).toEqual([
      [1, question, "yuri", "question"],
      [2, answer, "xena", "answer"],
      [3, followUp, "yuri", "follow-up"],
    ]);
    expect(page(await replay(xena.client, { thread_id: question }))).toEqual(thread);

    // Restart: the old process stops cleanly, a new one serves the same prefix.
    await closeClients();
    expect((await fixture.serve.stop()).code).toBe(0);
    fixture.serve = await startServe(fixture.env);
    const xenaAgain = await connectModern(fixture.serve.url, { token: xena.token });
    const yuriAgain = await connectLegacy(fixture.serve.url, yuri.token);

    expect(page(await replay(xenaAgain, { after: first.next_cursor, limit: 2 }))).toEqual(second);
    expect(page(await replay(xenaAgain, { after: second.next_cursor, limit: 2 }))).toEqual({
      messages: all.messages.slice(4),
      next_cursor: null,
    });
    expect(page(await replay(xenaAgain, { after: "0", limit: 50 }))).toEqual(all);
    expect(page(await replay(yuriAgain, { thread_id: question }))).toEqual(thread);

    // And mail still flows, after the last cursor.
    const late = await send(yuriAgain, { to: ["xena"], body: "after the restart" });
    await takeAll(xenaAgain, 1);
    const tail = page(await replay(xenaAgain, { after: cursors.at(-1), limit: 2 }));
    expect(tail.messages.map((m) => [m.message_id, m.body])).toEqual([[late, "after the restart"]]);
  });

  it("pages a thread by sequence number, and calls only the last page its end", async () => {
    // A page of a thread that is not its end says so: next_cursor (a sequence number) is
    // where the next page starts, and null only at the end.
    const zed = await joinAs(fixture.serve.url, "zed", "legacy");
    const ada = await joinAs(fixture.serve.url, "ada", "v1");
    const first = await send(zed.client, { to: ["ada"], body: 1 });
    await takeAll(ada.client, 1);
    const second = await send(ada.client, { to: ["zed"], reply_to: first, body: 2 });
    await send(zed.client, { to: ["ada"], reply_to: second, thread_id: first, body: 3 });
    const whole = await eventually(async () => {
      const replayed = await replay(ada.client, { thread_id: first });
      return replayed.messages.length === 3 ? replayed : undefined;
    }, 15_000);
    expect(whole.messages.map((m) => m.body)).toEqual([1, 2, 3]);

    const cut = await replay(ada.client, { thread_id: first, limit: 2 });
    expect(cut.messages.map((m) => m.body)).toEqual([1, 2]);
    expect(cut.next_cursor).not.toBeNull();
    const rest = await replay(ada.client, { thread_id: first, after: cut.next_cursor, limit: 2 });
    expect(rest.messages.map((m) => m.body)).toEqual([3]);
    expect(rest.next_cursor).toBeNull();
  });
});
