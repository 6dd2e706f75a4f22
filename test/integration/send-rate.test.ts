import { afterEach, describe, expect, it } from "vitest";
import { SwitchboardError } from "../../src/protocol/errors.js";
import { fastPipeline } from "../support/harness.js";
import { ServiceHarness } from "../support/service.js";

/** The send-rate token bucket against a real Redis: burst, refusal with a wait, refill. */
let h: ServiceHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** The RATE_LIMITED error of a send, or undefined when it was accepted. */
async function refusalOf(send: Promise<unknown>): Promise<SwitchboardError | undefined> {
  try {
    await send;
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(SwitchboardError);
    expect((error as SwitchboardError).code).toBe("RATE_LIMITED");
    return error as SwitchboardError;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("the send rate", () => {
  it("lets a burst through, refuses with a wait, and refills at the rate", async () => {
    h = new ServiceHarness(fastPipeline({ limits: { sendRate: { perSecond: 10, burst: 3 } } }));
    await h.register("alice", "bob");
    for (let i = 0; i < 3; i++) {
      expect(await refusalOf(h.sendAs("alice", { to: ["bob"], body: i }))).toBeUndefined();
    }
    const refused = await refusalOf(h.sendAs("alice", { to: ["bob"], body: 3 }));
    const wait = refused?.data?.retry_after_seconds as number;
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(0.1);
    expect(refused?.retryable).toBe(true);
    expect(refused?.message).toContain(`retry after ${wait} s`);
    // Waiting as told is enough for one more send.
    await sleep(wait * 1000 + 20);
    expect(await refusalOf(h.sendAs("alice", { to: ["bob"], body: 4 }))).toBeUndefined();
    // A quiet spell refills up to the burst, never past it.
    await sleep(600);
    const after = [];
    for (let i = 0; i < 4; i++)
      after.push(await refusalOf(h.sendAs("alice", { broadcast: true, body: i })));
    expect(after.map((e) => e?.code ?? "sent")).toEqual(["sent", "sent", "sent", "RATE_LIMITED"]);
  });

  it("keeps an idle sender's bucket only until it would be full again", async () => {
    h = new ServiceHarness(fastPipeline({ limits: { sendRate: { perSecond: 2, burst: 4 } } }));
    await h.register("carol");
    await h.sendAs("carol", { to: ["carol"], body: 1 });
    const ttl = await h.redis.pttl(h.keys.sendRate("carol"));
    // One token short of full: 0.5 s to refill, plus the second the script adds.
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1500);
  });
});
