import { afterEach, describe, expect, it } from "vitest";
import { DeadLetters } from "../../src/dlq/store.js";
import { cliEnv, run as runCli } from "../support/cli.js";
import { eventually, fastPipeline, Harness } from "../support/harness.js";
import { WebhookServer } from "../support/webhook-server.js";

/**
 * Dead letters found by the id senders know, the message id: one message to two webhook
 * agents that refuse it (400, dead-lettered at once) leaves two dead letters, written by
 * the real pipeline, which `switchboard dlq show|replay|purge MESSAGE_ID` find through
 * the index by message id.
 */

let h: Harness;
let server: WebhookServer;
afterEach(async () => {
  await h.close();
  await server.close();
});

/** Each CLI run starts a Node process: seconds apiece on a busy machine. */
const SLOW = 120_000;

const dlq = (...args: string[]) => runCli(["dlq", ...args], cliEnv(h.keys.prefix));

/** alice sends one message to hook1 and hook2, whose receiver refuses it: two dead letters. */
async function twoDeadLetters(): Promise<{ id: string; deadIds: string[] }> {
  let refusing = true;
  server = await WebhookServer.start(() => ({ status: refusing ? 400 : 204 }));
  h = new Harness(fastPipeline());
  await h.agents("alice");
  for (const name of ["hook1", "hook2"]) {
    await h.registry.register({ name, webhook_url: server.url.replace("/hook", `/${name}`) });
  }
  await h.worker();
  const id = await h.send({ from: "alice", to: ["hook1", "hook2"], body: "refused" });
  const entries = await eventually(async () => {
    const dead = await h.redis.xrange(h.stream("dead"), "-", "+");
    return dead.length === 2 && dead;
  });
  refusing = false;
  return { id, deadIds: entries.map(([deadId]) => deadId) };
}

describe("dead letters by message id", () => {
  it(
    "show and replay take a message id: each of its dead letters, replayed once",
    async () => {
      const { id, deadIds } = await twoDeadLetters();
      // The index is written with the dead letters: no scan finds them.
      expect((await h.redis.smembers(h.keys.deadLettersOf(id))).sort()).toEqual(deadIds);

      const shown = await dlq("show", id, "--json");
      expect(shown.code, shown.stderr).toBe(0);
      const view = JSON.parse(shown.stdout) as {
        message_id: string;
        dead_letters: { id: string; recipient: string; code: string }[];
      };
      expect(view.message_id).toBe(id);
      expect(view.dead_letters.map((d) => [d.id, d.recipient, d.code])).toEqual([
        [deadIds[0], "hook1", "WEBHOOK_REJECTED"],
        [deadIds[1], "hook2", "WEBHOOK_REJECTED"],
      ]);
      const text = await dlq("show", id);
      expect(text.stdout).toMatch(
        new RegExp(`^message ${id}: 2 dead letters, ${deadIds[0]}, ${deadIds[1]}$`, "m"),
      );

      const replayed = await dlq("replay", id);
      expect(replayed.code, replayed.stderr).toBe(0);
      expect(replayed.stdout).toMatch(
        new RegExp(`^message ${id}: dead letters ${deadIds[0]}, ${deadIds[1]}$`, "m"),
      );
      expect(replayed.stdout.match(/^replayed \S+ as entry \S+$/gm)).toHaveLength(2);
      await eventually(() => Promise.resolve(server.deliveries(id) === 2));

      const again = await dlq("replay", id, "--json");
      expect(again.code, again.stderr).toBe(0);
      const { results } = JSON.parse(again.stdout) as {
        results: { id: string; message_id: string; result: string }[];
      };
      expect(results.map((r) => [r.id, r.message_id, r.result])).toEqual([
        [deadIds[0], id, "already_replayed"],
        [deadIds[1], id, "already_replayed"],
      ]);
      expect(server.deliveries(id)).toBe(2);
      // The replayed ones are gone from the store; show says so.
      expect((await dlq("show", id)).stdout).toMatch(
        new RegExp(`^message ${id}: 0 dead letters \\(replayed already: ${deadIds.join(", ")}\\)`),
      );
    },
    SLOW,
  );

  it(
    "purge takes a message id and keeps the index true; an unknown message id is not found",
    async () => {
      const { id, deadIds } = await twoDeadLetters();
      const purged = await dlq("purge", id, "--yes");
      expect(purged.code, purged.stderr).toBe(0);
      expect(purged.stdout).toBe(
        `message ${id}: dead letters ${deadIds.join(", ")}\npurged 2 dead letters\n`,
      );
      expect(await h.redis.exists(h.keys.deadLettersOf(id))).toBe(0);
      expect(await h.redis.xlen(h.stream("dead"))).toBe(0);

      const missing = await dlq("replay", id);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(
        new RegExp(`^switchboard: no dead letters of message ${id} \\(replayed or purged already`),
      );
      const store = new DeadLetters(h.redis, h.keys, h.pipeline);
      expect(await store.replay([id])).toEqual([{ id, message_id: id, result: "not_found" }]);
    },
    SLOW,
  );
});
