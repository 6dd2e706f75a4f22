import { describe, expect, it } from "vitest";
import { eventually } from "../support/harness.js";
import {
  call,
  fastPipelineWith,
  joinAs,
  useServe,
  type Agent,
  type Fetched,
  type FetchedMessage as Message,
} from "../support/mcp.js";

/** A full inbox refuses more mail (the sender is told) until its agent acks. */
const fixture = useServe({ yaml: fastPipelineWith({ inbox: { quota: 2, overflow: "reject" } }) });

interface RecipientState {
  status: string;
  error?: { code: string; message: string };
}
interface View {
  message: { recipients: Record<string, RecipientState> };
}

async function send(from: Agent, to: Agent, body: unknown): Promise<string> {
  const sent = await call<{ message_id: string }>(from.client, "send_message", {
    to: [to.name],
    body,
  });
  return sent.message_id;
}

/** The recipient's final-or-delivered state of a message, as its sender sees it. */
async function settled(sender: Agent, id: string, recipient: Agent): Promise<RecipientState> {
  return eventually(async () => {
    const { message } = await call<View>(sender.client, "get_message", { message_id: id });
    const state = message.recipients[recipient.name];
    return state !== undefined && state.status !== "queued" ? state : undefined;
  }, 15_000);
}

/** Waits for the notice about `id` in the sender's inbox; acks it (the sender's quota counts too). */
async function noticeAbout(sender: Agent, id: string): Promise<Message> {
  const { messages } = await call<Fetched>(sender.client, "fetch_inbox", { wait_seconds: 10 });
  expect(messages).toHaveLength(1);
  await call(sender.client, "ack_messages", { message_ids: [messages[0]!.message_id] });
  expect(messages[0]).toMatchObject({ reply_to: id });
  return messages[0]!;
}

describe("inbox quota", () => {
  it("refuses the message over the quota, tells the sender, takes mail again once acked", async () => {
    const { url } = fixture.serve;
    const vic = await joinAs(url, "vic", "legacy");
    const wes = await joinAs(url, "wes", "modern");

    const first = await send(wes, vic, 1);
    const second = await send(wes, vic, 2);
    expect((await settled(wes, first, vic)).status).toBe("delivered");
    expect((await settled(wes, second, vic)).status).toBe("delivered");
    const third = await send(wes, vic, 3);

    const refused = await settled(wes, third, vic);
    expect(refused).toMatchObject({ status: "undeliverable", error: { code: "INBOX_FULL" } });
    const notice = await noticeAbout(wes, third);
    expect(notice).toMatchObject({
      from: "switchboard",
      type: "switchboard.notice",
      body: {
        message_id: third,
        status: "undeliverable",
        recipient: "vic",
        error: {
          code: "INBOX_FULL",
          message: expect.stringMatching(/inbox of agent 'vic' is full \(2 .*fetch and ack/),
        },
      },
    });

    // Fetched but not acked still counts against the quota.
    const fetched = await call<Fetched>(vic.client, "fetch_inbox");
    expect(fetched.messages.map((m) => m.body)).toEqual([1, 2]);
    const fourth = await send(wes, vic, 4);
    expect(await settled(wes, fourth, vic)).toMatchObject({ status: "undeliverable" });
    await noticeAbout(wes, fourth);

    await call(vic.client, "ack_messages", { message_ids: [first, second] });
    const fifth = await send(wes, vic, 5);
    expect((await settled(wes, fifth, vic)).status).toBe("delivered");
    const after = await call<Fetched>(vic.client, "fetch_inbox", { wait_seconds: 10 });
    // The refused ones are gone for good; the new one arrives.
    expect(after.messages.map((m) => m.message_id)).toEqual([fifth]);
    expect(after.inbox.unread).toBe(1);
  });
});
