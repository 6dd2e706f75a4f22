import { describe, expect, it } from "vitest";
import { eventually } from "../support/harness.js";
import {
  call,
  joinAs,
  useServe,
  type Fetched,
  type FetchedMessage as Message,
} from "../support/mcp.js";

/** Request/reply: send_message with await_reply_seconds, answered or not. */
const fixture = useServe();

interface Asked {
  message_id: string;
  thread_id: string;
  reply?: Message | null;
  reply_timed_out?: boolean;
  inbox: { unread: number };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("request/reply", () => {
  it("returns the reply to the asker, who is not handed it again by fetch_inbox", async () => {
    const { url } = fixture.serve;
    const amy = await joinAs(url, "amy", "legacy");
    const bo = await joinAs(url, "bo", "v1");

    const polling = call<Fetched>(bo.client, "fetch_inbox", { wait_seconds: 20 });
    await sleep(300);
    const asking = call<Asked>(amy.client, "send_message", {
      to: ["bo"],
      body: { q: "6 x 7?" },
      await_reply_seconds: 10,
    });
    const { messages } = await polling;
    expect(messages).toEqual([expect.objectContaining({ from: "amy", body: { q: "6 x 7?" } })]);
    const question = messages[0]!;
    const answered = await call<{ message_id: string }>(bo.client, "send_message", {
      to: ["amy"],
      reply_to: question.message_id,
      body: { a: 42 },
    });
    await call(bo.client, "ack_messages", { message_ids: [question.message_id] });

    const asked = await asking;
    expect(asked).toMatchObject({
      message_id: question.message_id,
      thread_id: question.thread_id,
      reply_timed_out: false,
      reply: {
        message_id: answered.message_id,
        from: "bo",
        body: { a: 42 },
        reply_to: question.message_id,
        thread_id: question.thread_id,
      },
      inbox: { unread: 0 },
    });

    // Taken by the waiting send: fetch does not hand it out, now or after a while.
    expect((await call<Fetched>(amy.client, "fetch_inbox")).messages).toEqual([]);
    const later = await call<Fetched>(amy.client, "fetch_inbox", { wait_seconds: 1.5 });
    expect(later).toMatchObject({ messages: [], inbox: { unread: 0 } });
    const status = await eventually(async () => {
      const { message } = await call<{
        message: { recipients: Record<string, { status: string }> };
      }>(bo.client, "get_message", { message_id: answered.message_id });
      return message.recipients.amy?.status === "acked" ? message.recipients.amy : undefined;
    }, 15_000);
    expect(status.status).toBe("acked");
  });

  it("gives up when nobody answers in time; a late answer then waits in the inbox", async () => {
    const { url } = fixture.serve;
    const cy = await joinAs(url, "cy", "modern");
    const di = await joinAs(url, "di", "legacy");

    const started = Date.now();
    const asked = await call<Asked>(cy.client, "send_message", {
      to: ["di"],
      body: "anyone?",
      await_reply_seconds: 1,
    });
    const elapsed = Date.now() - started;
    expect(asked).toMatchObject({ reply: null, reply_timed_out: true });
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(5000);

    const { messages } = await call<Fetched>(di.client, "fetch_inbox", { wait_seconds: 10 });
    expect(messages.map((m) => m.message_id)).toEqual([asked.message_id]);
    const late = await call<{ message_id: string }>(di.client, "send_message", {
      to: ["cy"],
      reply_to: asked.message_id,
      body: "sorry, late",
    });
    const inbox = await call<Fetched>(cy.client, "fetch_inbox", { wait_seconds: 10 });
    expect(inbox.messages).toEqual([
      expect.objectContaining({
        message_id: late.message_id,
        from: "di",
        reply_to: asked.message_id,
        body: "sorry, late",
        redelivered: false,
      }),
    ]);
  });
});
