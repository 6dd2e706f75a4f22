import { afterEach, describe, expect, it } from "vitest";
import { Registry } from "../../src/agents/registry.js";
import { mintToken, TOKEN_LENGTH } from "../../src/protocol/token.js";
import { connect } from "../support/redis.js";
import { ServiceHarness } from "../support/service.js";

/** Tokens are minted by the server only; a presented one proves ownership, nothing more. */
let h: ServiceHarness;
afterEach(async () => h.close());

const unauthenticated = (message: RegExp) => ({
  code: "UNAUTHENTICATED",
  message: expect.stringMatching(message),
});

describe("agent tokens", () => {
  it("are minted by the server: sbt_ and 32 base64url characters", async () => {
    h = new ServiceHarness();
    const { token } = await h.service.register({ name: "ann" });
    expect(token).toMatch(/^sbt_[A-Za-z0-9_-]{32}$/);
    expect(token).toHaveLength(TOKEN_LENGTH);
    expect(await h.service.authenticate(token)).toBe("ann");
  });

  it("refuse a new name with a token that belongs to nobody, and never adopt it", async () => {
    h = new ServiceHarness();
    const stranger = mintToken();
    await expect(h.service.register({ name: "eve" }, stranger)).rejects.toMatchObject(
      unauthenticated(/^the presented token belongs to no agent/),
    );
    await expect(h.service.register({ name: "eve" }, "undefined")).rejects.toMatchObject(
      unauthenticated(/^the presented token does not start with 'sbt_'/),
    );
    expect(await h.registry.get("eve")).toBeUndefined();
    await expect(h.service.authenticate(stranger)).rejects.toMatchObject({
      code: "UNAUTHENTICATED",
    });
  });

  it("stop working for good once their agent is unregistered, for its name and any other", async () => {
    h = new ServiceHarness();
    const { token } = await h.service.register({ name: "old" });
    await h.service.unregister("old");
    for (const name of ["old", "new"]) {
      await expect(h.service.register({ name }, token)).rejects.toMatchObject(
        unauthenticated(/^the presented token belongs to no agent/),
      );
      expect(await h.registry.get(name)).toBeUndefined();
    }
    // Registered again without a token, the name gets a new one; the old stays dead.
    const again = await h.service.register({ name: "old" });
    expect(again.token).not.toBe(token);
    await expect(h.service.authenticate(token)).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
  });

  it("update only the agent they belong to", async () => {
    h = new ServiceHarness();
    const ann = await h.service.register({ name: "ann" });
    await h.service.register({ name: "bob" });
    await expect(h.service.register({ name: "bob" }, ann.token)).rejects.toMatchObject({
      code: "INVALID_INPUT",
      field: "name",
      message: expect.stringMatching(/^the presented token is agent 'ann''s/),
    });
    await expect(h.service.register({ name: "cid" }, ann.token)).rejects.toMatchObject({
      code: "INVALID_INPUT",
    });
    const updated = await h.service.register({ name: "ann", capabilities: ["x"] }, ann.token);
    expect(updated).toMatchObject({ created: false, token: ann.token });
  });

  it("are checked for their format before any Redis lookup, naming what is wrong", async () => {
    h = new ServiceHarness();
    const closed = await connect();
    await closed.quit();
    // A lookup on this closed connection would fail with a connection error instead.
    const registry = new Registry(closed, h.keys, h.pipeline);
    const body = "A".repeat(TOKEN_LENGTH - 4);
    const cases: [string, RegExp][] = [
      ["undefined", /does not start with 'sbt_'/],
      [`xbt_${body}`, /does not start with 'sbt_'/],
      ["sbt_short", /is 9 characters long where a token has 36 \('sbt_' and 32 base64url/],
      [`sbt_${body}A`, /is 37 characters long/],
      [`sbt_${body.slice(1)}!`, /has characters outside base64url/],
      [`sbt_${body.slice(1)}=`, /has characters outside base64url/],
    ];
    for (const [token, message] of cases) {
      await expect(registry.authenticate(token), token).rejects.toMatchObject(
        unauthenticated(message),
      );
      await expect(registry.register({ name: "ann" }, token), token).rejects.toMatchObject(
        unauthenticated(message),
      );
    }
  });
});
