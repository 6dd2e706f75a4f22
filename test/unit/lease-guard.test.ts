import { describe, expect, it } from "vitest";
import { guardCommit } from "../../src/leases/guard.js";
import type { LeaseRecord, LeaseTable } from "../../src/leases/store.js";

const NOW = Date.parse("2026-01-01T00:00:00Z");

function lease(
  id: string,
  holder: string,
  resources: string[],
  token: number,
  more: Partial<LeaseRecord> = {},
): LeaseRecord {
  return {
    id,
    holder,
    resources,
    exclusive: true,
    reason: "",
    fencing_token: token,
    granted_at: NOW - 1000,
    expires_at: NOW + 60_000,
    waiters: "",
    ...more,
  };
}

/** ada's lease 1 on src/auth/** expired; bob holds src/auth/login.ts now; carol shares docs. */
const TABLE: LeaseTable = {
  now: NOW,
  live: [
    lease("l2", "bob", ["src/auth/login.ts"], 2),
    lease("l3", "carol", ["docs/**"], 3, { exclusive: false }),
    lease("l4", "ada", ["src/ui/**"], 4),
  ],
  ended: [lease("l1", "ada", ["src/auth/**"], 1, { ended: "expired", ended_at: NOW - 5000 })],
};

const paths = (refusals: ReturnType<typeof guardCommit>) => refusals.map((r) => r.path);

describe("the guard hook's decision", () => {
  it("refuses paths another agent holds exclusively, not shared or own ones", () => {
    const refusals = guardCommit(
      TABLE,
      ["src/auth/login.ts", "docs/api.md", "src/ui/a.ts", "src/authz.ts"],
      "ada",
      [],
    );
    expect(paths(refusals)).toEqual(["src/auth/login.ts"]);
    expect(refusals[0]?.message).toMatch(/^held by 'bob' \(lease l2, fencing token 2, until /);
    expect(guardCommit(TABLE, ["src/auth/login.ts"], "bob", [2])).toEqual([]);
  });

  it("refuses paths under a presented token whose lease ended, whoever holds them now", () => {
    const refusals = guardCommit(TABLE, ["src/auth/session.ts", "src/ui/a.ts"], "ada", [1, 4]);
    expect(paths(refusals)).toEqual(["src/auth/session.ts"]);
    expect(refusals[0]?.message).toMatch(
      /^stale fencing token 1: your lease l1 expired at .*; nobody holds it now; acquire_lease again/,
    );
    expect(guardCommit(TABLE, ["src/auth/login.ts"], "ada", [1]).map((r) => r.message)).toEqual([
      expect.stringMatching(/^held by 'bob'/),
      expect.stringMatching(/^stale fencing token 1: .*; now held by 'bob' \(lease l2/),
    ]);
  });

  it("refuses a token that is no lease of the agent's", () => {
    const refusals = guardCommit(TABLE, [], "ada", [2, 99]);
    expect(refusals.map((r) => [r.path, r.message.slice(0, 40)])).toEqual([
      [undefined, "fencing token 2 belongs to no lease of '"],
      [undefined, "fencing token 99 belongs to no lease of "],
    ]);
  });
});
