import { afterAll, describe, expect, it } from "vitest";
import { rotateTokenScript } from "../../src/agents/scripts.js";
import { hashToken } from "../../src/agents/tokens.js";
import { mintToken } from "../../src/protocol/token.js";
import { withLock } from "../../src/redis/lock.js";
import { Harness } from "../support/harness.js";

/** Registry.rotateToken and the start-up lock, against a real Redis. */
const h = new Harness();
afterAll(() => h.close());

describe("Registry.rotateToken", () => {
  it("swaps the token: the old one names nobody at once, the new one the agent", async () => {
    const [old] = await h.agents("ada");
    const token = await h.registry.rotateToken("ada");
    expect(token).toMatch(/^sbt_/);
    expect(await h.registry.authenticate(old!)).toBeUndefined();
    expect(await h.registry.authenticate(token!)).toBe("ada");
    expect(await h.redis.hget(h.keys.agent("ada"), "token_hash")).toBe(hashToken(token!));
    expect(await h.redis.exists(h.keys.token(hashToken(old!)))).toBe(0);
  });

  it("leaves exactly one working token when rotations race", async () => {
    await h.agents("bea");
    const tokens = await Promise.all([1, 2, 3, 4, 5].map(() => h.registry.rotateToken("bea")));
    const owners = await Promise.all(tokens.map((t) => h.registry.authenticate(t!)));
    expect(owners.filter((o) => o === "bea")).toHaveLength(1);
    const working = tokens[owners.indexOf("bea")]!;
    expect(await h.redis.hget(h.keys.agent("bea"), "token_hash")).toBe(hashToken(working));
  });

  it("killed after the record's swap, leaves no working token, and a key that is cleaned up", async () => {
    const [old] = await h.agents("cid");
    const oldKey = h.keys.token(hashToken(old!));
    // The swap alone, as by a process killed before it wrote and deleted the token keys.
    const killed = hashToken(mintToken());
    const record = h.keys.agent("cid");
    expect(
      await rotateTokenScript.run(h.redis, { record, oldHash: hashToken(old!), newHash: killed }),
    ).toBe(1);
    expect(await h.redis.exists(oldKey)).toBe(1);
    expect(await h.registry.authenticate(old!)).toBeUndefined();

    // The next rotation deletes the key the killed one left.
    const token = await h.registry.rotateToken("cid");
    expect(await h.redis.exists(oldKey)).toBe(0);
    expect(await h.registry.authenticate(token!)).toBe("cid");

    // So does unregistering, for a rotation killed just before it.
    const [dee] = await h.agents("dee");
    const deeKey = h.keys.token(hashToken(dee!));
    const deeRecord = h.keys.agent("dee");
    await rotateTokenScript.run(h.redis, {
      record: deeRecord,
      oldHash: hashToken(dee!),
      newHash: killed,
    });
    await h.registry.unregister("dee");
    expect(await h.redis.exists(deeKey)).toBe(0);
  });

  it("is undefined for a name nobody registered", async () => {
    expect(await h.registry.rotateToken("nobody")).toBeUndefined();
    expect(await h.redis.exists(h.keys.agent("nobody"))).toBe(0);
  });
});

describe("withLock", () => {
  it("runs one holder at a time, and releases only its own lock", async () => {
    const key = h.keys.agentClaim("cy");
    const order: string[] = [];
    const hold = (name: string) =>
      withLock(h.redis, key, async () => {
        order.push(`${name} in`);
        await new Promise((resolve) => setTimeout(resolve, 30));
        order.push(`${name} out`);
      });
    await Promise.all([hold("a"), hold("b"), hold("c")]);
    for (let i = 0; i < order.length; i += 2) {
      expect(order[i + 1]).toBe(order[i]!.replace("in", "out"));
    }
    expect(await h.redis.exists(key)).toBe(0);

    // A lock that expired and was taken by another is not released by the first holder.
    await withLock(h.redis, key, () => h.redis.set(key, "someone else").then(() => undefined));
    expect(await h.redis.get(key)).toBe("someone else");
  });
});
