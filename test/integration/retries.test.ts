import { afterEach, describe, expect, it, vi } from "vitest";
import { readMessageRecord } from "../../src/history/record.js";
import { Inbox } from "../../src/inbox/inbox.js";
import { MailAnnouncements } from "../../src/inbox/mail.js";
import { retryQueueOf } from "../../src/retry/queues.js";
import { failAppendOnce, isDelivered } from "../support/faults.js";
import { eventually, fastPipeline, Harness } from "../support/harness.js";

let h: Harness;
let mail: MailAnnouncements | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  mail?.close();
  await h.close();
});

/** A quota of one message, and deferred overflow retried every 100 ms, `attempts` in all. */
function deferring(attempts: number) {
  return fastPipeline({
    inbox: { quota: 1, overflow: "defer" },
    retries: { quota: { attempts, delayMs: 100, maxDelayMs: 100, jitter: 0 } },
  });
}

async function bobStatus(id: string) {
  return (await readMessageRecord(h.redis, h.keys, id))?.recipients.bob;
}

/** alice sends bob two messages: the first fills his inbox (delivered), the second is sent. */
async function fillThenSend(pipeline: ReturnType<typeof fastPipeline>) {
  h = new Harness(pipeline);
  await h.agents("alice", "bob");
  await h.worker();
  const first = await h.send({ from: "alice", to: ["bob"], body: 1 });
  await eventually(async () => (await bobStatus(first))?.status === "delivered");
  const second = await h.send({ from: "alice", to: ["bob"], body: 2 });
  return { first, second };
}

describe("retries of a stage's failures", () => {
  it("retries a message for a full inbox by the quota policy until there is room", async () => {
    const { first, second } = await fillThenSend(deferring(50));
    mail = new MailAnnouncements(h.target, h.keys);
    const inbox = new Inbox(h.redis, h.keys, h.pipeline, mail);
    const waiting = await eventually(async () => {
      const s = await bobStatus(second);
      return s?.status === "retrying" && s;
    });
    expect(waiting).toMatchObject({ stage: "deliver", error: { code: "INBOX_FULL" } });
    expect(waiting.retry?.max_attempts).toBe(50);
    // Nothing pends in the stream meanwhile: the retry waits in BullMQ.
    const [pending] = (await h.redis.xpending(h.stream("deliver"), "deliver")) as [number];
    expect(pending).toBe(0);
    const [fetched] = await inbox.fetch("bob", { limit: 10, waitSeconds: 0 });
    await inbox.ack("bob", [fetched!.message_id]);
    await eventually(async () => (await bobStatus(second))?.status === "delivered");
    expect(await h.inbox("bob")).toEqual([first, second]);
  });

  it("dead-letters a deferred message when the quota policy's attempts are spent", async () => {
    const { second } = await fillThenSend(deferring(3));
    const dead = await eventually(async () => {
      const s = await bobStatus(second);
      return s?.status === "dead_lettered" && s;
    });
    expect(dead.error?.code).toBe("INBOX_FULL");
    const [[, fields]] = (await h.redis.xrange(h.stream("dead"), "-", "+")) as [[string, string[]]];
    const letter = Object.fromEntries(
      fields.flatMap((v, i) => (i % 2 === 0 ? [[v, fields[i + 1]!]] : [])),
    );
    expect(letter).toMatchObject({ mid: second, stage: "deliver", code: "INBOX_FULL", n: "3" });
    expect(JSON.parse(letter.hist!)).toHaveLength(3);
  });

  it("a dead letter whose write fails on the last attempt is written later, once", async () => {
    const fault = failAppendOnce((outcome) => outcome.kind === "dead_letter");
    const { second } = await fillThenSend(deferring(3));
    await eventually(async () => (await bobStatus(second))?.status === "dead_lettered");
    expect(fault.failed()).toBe(true);
    const dead = await h.redis.xrange(h.stream("dead"), "-", "+");
    expect(dead.filter(([, fields]) => fields.includes(second))).toHaveLength(1);
    // The job ends as a dead letter's job does, not on the failed write.
    expect(await h.failedJobs(retryQueueOf("deliver"))).toEqual([
      expect.stringMatching(/^INBOX_FULL: /),
    ]);
  });

  it("a success whose write fails on the last attempt is written later, once", async () => {
    const fault = failAppendOnce(isDelivered);
    const { first, second } = await fillThenSend(
      fastPipeline({
        inbox: { quota: 1, overflow: "defer" },
        retries: { quota: { attempts: 2, delayMs: 1500, maxDelayMs: 1500, jitter: 0 } },
      }),
    );
    mail = new MailAnnouncements(h.target, h.keys);
    const inbox = new Inbox(h.redis, h.keys, h.pipeline, mail);
    await eventually(async () => (await bobStatus(second))?.status === "retrying");
    // Room before the job's one (and last) try.
    const [fetched] = await inbox.fetch("bob", { limit: 10, waitSeconds: 0 });
    await inbox.ack("bob", [fetched!.message_id]);
    await eventually(async () => (await bobStatus(second))?.status === "delivered");
    expect(fault.failed()).toBe(true);
    expect(await h.inbox("bob")).toEqual([first, second]);
    expect(await h.failedJobs(retryQueueOf("deliver"))).toEqual([]);
  });
});
