import { describe, expect, it } from "vitest";
import { eventually } from "../support/harness.js";
import {
  call,
  fastPipelineWith,
  joinAs,
  useServe,
  type Agent,
  type Fetched,
} from "../support/mcp.js";

/**
 * The inbox as agents see it: a long poll woken by mail, the visibility timeout
 * (redelivery of what was fetched and not acked), idempotent acks, and expiry.
 */
const VISIBILITY_MS = 1500;
const fixture = useServe({
  yaml: fastPipelineWith({ inbox: { visibilityTimeoutMs: VISIBILITY_MS } }),
});

interface RecipientState {
  status: string;
  history: { status: string }[];
  error?: { code: string };
}
interface View {
  message: { expires_at?: string; recipients: Record<string, RecipientState> };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function send(from: Agent, to: Agent, extra: Record<string, unknown> = {}): Promise<string> {
  const sent = await call<{ message_id: string }>(from.client, "send_message", {
    to: [to.name],
    body: "hello",
    ...extra,
  });
  return sent.message_id;
}

/** Where a message stands for one recipient, as its sender sees it, once `ready` says so. */
async function stateFor(
  sender: Agent,
  messageId: string,
  recipient: Agent,
  ready: (state: RecipientState) => boolean,
): Promise<View["message"]> {
  return eventually(async () => {
    const { message } = await call<View>(sender.client, "get_message", { message_id: messageId });
    const state = message.recipients[recipient.name];
    return state !== undefined && ready(state) ? message : undefined;
  }, 15_000);
}

describe("the inbox", () => {
  it("wakes a long poll issued first when mail arrives, not on someone else's mail", async () => {
    const { url } = fixture.serve;
    const ivy = await joinAs(url, "ivy", "v1");
    const jo = await joinAs(url, "jo", "legacy");
    const kim = await joinAs(url, "kim", "modern");

    let settled = false;
    const polling = call<Fetched>(ivy.client, "fetch_inbox", { wait_seconds: 20 });
    void polling.finally(() => (settled = true));
    await sleep(300);
    // Mail for kim is announced on the same channel: ivy's poll must keep waiting.
    await send(jo, kim);
    await call(kim.client, "fetch_inbox", { wait_seconds: 10 });
    await sleep(300);
    expect(settled).toBe(false);

    const sentAt = Date.now();
    const id = await send(jo, ivy, { body: "wake up" });
    const { messages } = await polling;
    expect(Date.now() - sentAt).toBeLessThan(5000);
    expect(messages).toEqual([
      expect.objectContaining({ message_id: id, from: "jo", body: "wake up", redelivered: false }),
    ]);
  });

  it("hands out an unacked message again after the visibility timeout, never once acked", async () => {
    const { url } = fixture.serve;
    const rita = await joinAs(url, "rita", "legacy");
    const sam = await joinAs(url, "sam", "modern");
    const id = await send(sam, rita, { subject: "task", body: { step: 1 } });

    const first = await call<Fetched>(rita.client, "fetch_inbox", { wait_seconds: 10 });
    const fetchedAt = Date.now();
    expect(first.messages).toEqual([
      expect.objectContaining({ message_id: id, body: { step: 1 }, redelivered: false }),
    ]);
    // Within the visibility timeout it is nobody's to take, but still unread.
    const meanwhile = await call<Fetched>(rita.client, "fetch_inbox");
    expect(Date.now() - fetchedAt).toBeLessThan(VISIBILITY_MS);
    expect(meanwhile.messages).toEqual([]);
    expect(meanwhile.inbox.unread).toBe(1);

    const again = await call<Fetched>(rita.client, "fetch_inbox", { wait_seconds: 10 });
    expect(Date.now() - fetchedAt).toBeGreaterThan(VISIBILITY_MS - 500);
    expect(again.messages).toEqual([
      expect.objectContaining({
        message_id: id,
        from: "sam",
        subject: "task",
        body: { step: 1 },
        redelivered: true,
      }),
    ]);

    expect(await call(rita.client, "ack_messages", { message_ids: [id] })).toMatchObject({
      acked: [id],
      already_acked: [],
      unknown: [],
      inbox: { unread: 0, oldest_waiting_seconds: null },
    });
    expect(await call(rita.client, "ack_messages", { message_ids: [id, id] })).toMatchObject({
      acked: [],
      already_acked: [id],
      unknown: [],
    });
    // A message rita sent is not hers to ack.
    const own = await send(rita, sam);
    expect(await call(rita.client, "ack_messages", { message_ids: [own] })).toMatchObject({
      acked: [],
      unknown: [own],
    });

    // Past another visibility timeout: still nothing.
    const later = await call<Fetched>(rita.client, "fetch_inbox", {
      wait_seconds: (VISIBILITY_MS + 1000) / 1000,
    });
    expect(later.messages).toEqual([]);

    const view = await stateFor(sam, id, rita, (s) => s.status === "acked");
    expect(view.recipients.rita!.history.map((h) => h.status)).toEqual([
      "queued",
      "delivered",
      "read",
      "acked",
    ]);
  });

  it("never hands out a message past its ttl, and tells the sender it expired", async () => {
    const { url } = fixture.serve;
    const tom = await joinAs(url, "tom", "v1");
    const uma = await joinAs(url, "uma", "legacy");
    const id = await send(uma, tom, { subject: "hurry", body: "now or never", ttl_seconds: 1 });

    // In tom's inbox (or, on a slow day, expired on the way there), then past its expiry.
    const { expires_at } = await stateFor(uma, id, tom, (s) =>
      ["delivered", "expired"].includes(s.status),
    );
    expect(expires_at).toBeDefined();
    await sleep(Math.max(0, Date.parse(expires_at!) - Date.now()) + 200);

    const fetched = await call<Fetched>(tom.client, "fetch_inbox");
    expect(fetched.messages).toEqual([]);
    expect(fetched.inbox.unread).toBe(0);

    const notice = await call<Fetched>(uma.client, "fetch_inbox", { wait_seconds: 10 });
    expect(notice.messages).toEqual([
      expect.objectContaining({
        from: "switchboard",
        type: "switchboard.notice",
        reply_to: id,
        thread_id: id,
        subject: expect.stringContaining("hurry"),
        body: expect.objectContaining({
          message_id: id,
          status: "expired",
          recipient: "tom",
          error: expect.objectContaining({ code: "EXPIRED" }),
        }),
      }),
    ]);
    const view = await stateFor(uma, id, tom, (s) => s.status !== "delivered");
    expect(view.recipients.tom).toMatchObject({ status: "expired" });
    // Still never handed out.
    expect((await call<Fetched>(tom.client, "fetch_inbox")).messages).toEqual([]);
  });
});
