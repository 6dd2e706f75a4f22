import { setTimeout as delay } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { Registry } from "../../src/agents/registry.js";
import { defineScripts } from "../../src/app/scripts.js";
import { SwitchboardError } from "../../src/protocol/errors.js";
import { connectTarget } from "../../src/redis/target.js";
import { Harness } from "../support/harness.js";

/**
 * Registration and unregistration of one name, racing (two admins, or an agent and an
 * operator): each call ends with an answer or a clear error, and what is left is one
 * whole agent or none, never an index entry or token of an agent that is gone.
 */
const h = new Harness();
/** Each caller on a connection of its own, as front ends and the CLI are. */
const connections = [1, 2, 3, 4].map(() => defineScripts(connectTarget(h.target, "command")));
const [a, b, c, d] = connections.map((redis) => new Registry(redis, h.keys, h.pipeline));
afterAll(async () => {
  for (const redis of connections) redis.disconnect();
  await h.close();
});

/** A call made after a random pause of up to 3 ms, so that the calls interleave. */
async function soon<T>(call: () => Promise<T>): Promise<T> {
  await delay(Math.random() * 3);
  return call();
}

async function leftovers(name: string): Promise<string[]> {
  const found: string[] = [];
  const record = await h.redis.hgetall(h.keys.agent(name));
  const registered = Object.keys(record).length > 0;
  const inDirectory = (await h.redis.zscore(h.keys.directory(), name)) !== null;
  if (inDirectory !== registered) found.push(`directory: ${inDirectory}, record: ${registered}`);
  for (const capability of ["build", "review"]) {
    const indexed = (await h.redis.sismember(h.keys.capability(capability), name)) === 1;
    const has = registered && (record.capabilities ?? "").includes(capability);
    if (indexed !== has) found.push(`capability ${capability}: indexed ${indexed}, has ${has}`);
  }
  let cursor = "0";
  do {
    const [next, keys] = await h.redis.scan(
      cursor,
      "MATCH",
      `${h.keys.prefix}:{k:*`,
      "COUNT",
      1000,
    );
    cursor = next;
    for (const key of keys) {
      if ((await h.redis.get(key)) !== name) continue;
      const hash = /\{k:([0-9a-f]+)\}/.exec(key)![1]!;
      if (record.token_hash !== hash) found.push(`token ${hash.slice(0, 8)} of a gone agent`);
    }
  } while (cursor !== "0");
  return found;
}

describe("register and unregister of one name, racing", () => {
  it("answers every call and leaves one whole agent or none", async () => {
    const name = "racer";
    for (let round = 0; round < 40; round++) {
      const capabilities = round % 2 === 0 ? ["build"] : ["review"];
      const calls = await Promise.allSettled([
        soon(() => a!.register({ name, capabilities })),
        soon(() => b!.unregister(name)),
        soon(() => c!.register({ name, capabilities: ["build", "review"] })),
        soon(() => d!.unregister(name)),
      ]);
      for (const [i, call] of calls.entries()) {
        if (call.status === "rejected") {
          expect(call.reason, `round ${round}, call ${i}`).toBeInstanceOf(SwitchboardError);
          expect((call.reason as SwitchboardError).code).toBe("NAME_TAKEN");
        } else if (i % 2 === 0) {
          const registration = call.value as Awaited<ReturnType<typeof h.registry.register>>;
          expect(registration.agent.name, `round ${round}, call ${i}`).toBe(name);
        }
      }
      expect(await leftovers(name), `round ${round}`).toEqual([]);
    }
  });
});

describe("token rotation and unregistration of one name, racing", () => {
  it("leaves no token naming an agent that is gone", async () => {
    const name = "rotor";
    for (let round = 0; round < 100; round++) {
      await h.registry.register({ name, capabilities: ["build"] });
      await Promise.all([soon(() => a!.rotateToken(name)), soon(() => b!.unregister(name))]);
      expect(await leftovers(name), `round ${round}`).toEqual([]);
    }
  });
});
