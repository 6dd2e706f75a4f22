import { afterAll, describe, expect, it } from "vitest";
import { hashToken, TOKEN_NAMES_KEPT, TokenNames } from "../../src/agents/tokens.js";
import { Harness } from "../support/harness.js";

/**
 * A Registry keeps the names of the tokens it authenticated, so that a known token costs
 * one read (the agent's record) instead of two. Two registries on one prefix stand for
 * two front-end processes: what one changes, the other sees on its very next call.
 */
const h = new Harness();
afterAll(() => h.close());

describe("token names kept by a registry", () => {
  it("refuse a rotated token at once, in another process that had just accepted it", async () => {
    const [old] = await h.agents("ada");
    const front = h.registry;
    expect(await front.authenticate(old!)).toBe("ada");
    expect(await front.authenticate(old!)).toBe("ada");
    const token = await h.registry.rotateToken("ada");
    expect(await front.authenticate(old!)).toBeUndefined();
    expect(await front.authenticate(token!)).toBe("ada");
  });

  it("refuse the token of an agent unregistered elsewhere, and after it registers again", async () => {
    const [old] = await h.agents("bea");
    const front = h.registry;
    expect(await front.authenticate(old!)).toBe("bea");
    await h.registry.unregister("bea");
    expect(await front.authenticate(old!)).toBeUndefined();
    const [fresh] = await h.agents("bea");
    expect(await front.authenticate(old!)).toBeUndefined();
    expect(await front.authenticate(fresh!)).toBe("bea");
  });

  it("keep no name for a token that names nobody, and read the key again for it", async () => {
    const [token] = await h.agents("cid");
    const front = h.registry;
    await h.redis.hset(h.keys.agent("cid"), "token_hash", hashToken("someone else's"));
    expect(await front.authenticate(token!)).toBeUndefined();
    await h.redis.hset(h.keys.agent("cid"), "token_hash", hashToken(token!));
    expect(await front.authenticate(token!)).toBe("cid");
  });

  it("hold at most TOKEN_NAMES_KEPT, dropping the oldest", () => {
    const names = new TokenNames();
    for (let i = 0; i <= TOKEN_NAMES_KEPT; i += 1) names.set(`h${i}`, `a${i}`);
    expect(names.get("h0")).toBeUndefined();
    expect(names.get("h1")).toBe("a1");
    expect(names.get(`h${TOKEN_NAMES_KEPT}`)).toBe(`a${TOKEN_NAMES_KEPT}`);
  });
});
