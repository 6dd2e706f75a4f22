import { afterAll, beforeAll, expect, it } from "vitest";
import { clusterTarget } from "../support/cluster.js";
import { isErrorCode, ERROR_CODES } from "../../src/protocol/errors.js";
import { SwitchboardError } from "../../src/protocol/errors.js";
import { startCluster, type LocalCluster } from "../../src/redis/spawn-cluster.js";
import { eventually, fastPipeline } from "../support/harness.js";
import { ServiceHarness } from "../support/service.js";

/**
 * A master of a real Redis Cluster killed with SIGKILL while messages flow, with
 * `durability: replicated`: its replica takes over, the node comes back as its replica,
 * no message a sender was told is accepted is lost, none reaches an inbox twice, and a
 * sender that retries transient refusals with its idempotency key waits a few seconds.
 */
const MESSAGES = 240;
const RECIPIENTS = ["r0", "r1", "r2"];

let cluster: LocalCluster;
let h: ServiceHarness;

beforeAll(async () => {
  cluster = await startCluster();
  const target = clusterTarget(cluster.masters);
  h = new ServiceHarness(
    fastPipeline({ partitions: 3, durability: { mode: "replicated", timeoutMs: 500 } }),
    target,
  );
}, 60_000);

afterAll(async () => {
  await h?.close();
  await cluster?.stop();
});

/** Sends until accepted, retrying what is transient with the same idempotency key. */
async function sendSurely(n: number): Promise<{ id: string; waitedMs: number }> {
  const started = Date.now();
  for (;;) {
    try {
      const sent = await h.sendAs("sender", {
        to: [RECIPIENTS[n % RECIPIENTS.length]],
        idempotency_key: `k${n}`,
        body: { n },
      });
      return { id: sent.message_id, waitedMs: Date.now() - started };
    } catch (error) {
      const code = error instanceof SwitchboardError ? error.code : "REDIS_UNAVAILABLE";
      const transient = isErrorCode(code) && ERROR_CODES[code].category === "transient";
      if (!transient || Date.now() - started > 60_000) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/**
 * Kills a master; once its replica took over, starts the node again, as an operator
 * would: it rejoins as the new master's replica. Until then that master has no replica,
 * and `replicated` refuses what is written there (NOT_REPLICATED, retried by senders).
 */
async function killAndBringBack(port: number): Promise<void> {
  await cluster.kill(port);
  await eventually(async () => {
    const roles = await cluster.roles().catch(() => undefined);
    return roles !== undefined && [...roles.values()].filter((r) => r === "master").length === 3;
  }, 30_000);
  await cluster.restart(port);
}

it("loses and duplicates no accepted message when a master dies under load", async () => {
  await h.register("sender", ...RECIPIENTS);
  await h.worker();
  const accepted = new Map<string, string>();
  let longest = 0;
  let rejoined: Promise<void> | undefined;
  for (let n = 0; n < MESSAGES; n++) {
    if (n === MESSAGES / 3) rejoined = killAndBringBack(Number(cluster.masters[0]!.split(":")[1]));
    const { id, waitedMs } = await sendSurely(n);
    accepted.set(id, RECIPIENTS[n % RECIPIENTS.length]!);
    longest = Math.max(longest, waitedMs);
  }
  await rejoined;
  const roles = await cluster.roles();
  expect([...roles.values()].filter((role) => role === "master")).toHaveLength(3);

  for (const recipient of RECIPIENTS) {
    const expected = [...accepted].filter(([, to]) => to === recipient).map(([id]) => id);
    const ids = await eventually(async () => {
      const entries = await h.redis.xrange(h.keys.inbox(recipient), "-", "+");
      const mids = entries.map(([, fields]) => fields[fields.indexOf("mid") + 1]!);
      return mids.length >= expected.length && mids;
    }, 60_000);
    expect(new Set(ids).size, `${recipient}: no duplicates`).toBe(ids.length);
    expect([...ids].sort(), recipient).toEqual([...expected].sort());
  }
  // The failover, as a sender saw it: node timeout (2 s) and an election.
  console.log(`longest wait of a send across the failover: ${longest} ms`);
  expect(longest).toBeLessThan(30_000);
}, 180_000);
