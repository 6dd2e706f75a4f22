import { describe, expect, it } from "vitest";
import { clientAddress } from "../../src/http/client-address.js";
import { pathOf } from "../../src/http/safe-server.js";
import { SessionBudget } from "../../src/mcp/session-budget.js";

describe("client address", () => {
  const none: ReadonlySet<string> = new Set();
  const proxies: ReadonlySet<string> = new Set(["10.0.0.1", "10.0.0.2"]);

  it("is the socket's peer unless that is a trusted proxy", () => {
    expect(clientAddress("203.0.113.9", "198.51.100.1", none)).toBe("203.0.113.9");
    expect(clientAddress("::ffff:203.0.113.9", undefined, none)).toBe("203.0.113.9");
    expect(clientAddress(undefined, undefined, none)).toBe("unknown");
  });

  it("behind trusted proxies, is the last hop they did not write, never a forged earlier one", () => {
    expect(clientAddress("10.0.0.1", "198.51.100.7", proxies)).toBe("198.51.100.7");
    expect(clientAddress("10.0.0.1", "6.6.6.6, 198.51.100.7, 10.0.0.2", proxies)).toBe(
      "198.51.100.7",
    );
    expect(clientAddress("10.0.0.1", ["6.6.6.6", "198.51.100.7"], proxies)).toBe("198.51.100.7");
    expect(clientAddress("10.0.0.1", "not-an-ip", proxies)).toBe("10.0.0.1");
    expect(clientAddress("10.0.0.1", undefined, proxies)).toBe("10.0.0.1");
  });
});

describe("request target", () => {
  it("is a path, or undefined when no URL can be made of it", () => {
    expect(pathOf("/mcp?x=1")).toBe("/mcp");
    expect(pathOf("http://elsewhere/mcp")).toBe("/mcp");
    expect(pathOf("//[")).toBeUndefined();
    expect(pathOf("http://[")).toBeUndefined();
  });
});

describe("session budget", () => {
  const limits = { max: 2, idleMs: 1000, anonymous: { max: 3, perAddress: 2, idleMs: 100 } };

  it("gives anonymous sessions a budget per address and in all, apart from agents'", () => {
    const budget = new SessionBudget(limits);
    expect(budget.take("a")).toBeUndefined();
    expect(budget.take("a")).toBeUndefined();
    expect(budget.take("a")).toMatchObject({
      status: 429,
      message: expect.stringMatching(/from a \(http.sessions.anonymous.perAddress = 2\)/),
    });
    expect(budget.take("b")).toBeUndefined();
    expect(budget.take("c")).toMatchObject({
      status: 503,
      message: expect.stringMatching(/http.sessions.anonymous.max = 3.*present your token/),
    });
    expect(budget.take(undefined)).toBeUndefined();
    expect(budget.take(undefined)).toBeUndefined();
    expect(budget.take(undefined)).toMatchObject({ status: 503 });
    budget.release("a");
    expect(budget.take("c")).toBeUndefined();
  });

  it("moves a session that became an agent, when the agents' budget has room", () => {
    const budget = new SessionBudget(limits);
    budget.take("a");
    budget.take("a");
    expect(budget.promote("a")).toBe(true);
    expect(budget.take("a")).toBeUndefined();
    budget.take(undefined);
    expect(budget.promote("a")).toBe(false);
    expect(budget.take("a")).toMatchObject({ status: 429 });
  });
});
