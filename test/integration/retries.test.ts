import { afterEach, describe, expect, it } from "vitest";
import { readMessageRecord } from "../../src/history/record.js";
import { Inbox } from "../../src/inbox/inbox.js";
import { MailAnnouncements } from "../../src/inbox/mail.js";
import { eventually, fastPipeline, Harness } from "../support/harness.js";

let h: Harness;
let mail: MailAnnouncements | undefined;
afterEach(async () => {
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

describe("retries of a stage's failures", () => {
  it("retries a message for a full inbox by the quota policy until there is room", async () => {
    h = new Harness(deferring(50));
    mail = new MailAnnouncements(h.url, h.keys);
    const inbox = new Inbox(h.redis, h.keys, h.pipeline, mail);
    await h.agents("alice", "bob");
    await h.worker();
    const first = await h.send({ from: "alice", to: ["bob"], body: 1 });
    await eventually(async () => (await bobStatus(first))?.status === "delivered");
    const second = await h.send({ from: "alice", to: ["bob"], body: 2 });
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
    h = new Harness(deferring(3));
    await h.agents("alice", "bob");
    await h.worker();
    const first = await h.send({ from: "alice", to: ["bob"], body: 1 });
    await eventually(async () => (await bobStatus(first))?.status === "delivered");
    const second = await h.send({ from: "alice", to: ["bob"], body: 2 });
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
});
