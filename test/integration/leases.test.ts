import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { LeaseStore } from "../../src/leases/store.js";
import { SwitchboardError } from "../../src/protocol/errors.js";
import { resourcesOverlap } from "../../src/protocol/resource-glob.js";
import { LEASE_NOTICE_TYPE } from "../../src/service/lease-notices.js";
import { eventually } from "../support/harness.js";
import { ServiceHarness } from "../support/service.js";

/** Resource leases against a real Redis: the Lua scripts, the service, the notices. */
let h: ServiceHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const acquire = (agent: string, resources: string[], more: Record<string, unknown> = {}) =>
  h!.service.leases.acquire(agent, {
    resources,
    ttl_seconds: 60,
    exclusive: true,
    wait_seconds: 0,
    ...more,
  });

/** The bodies of the lease notices in an agent's inbox, once some arrived. */
async function noticesOf(agent: string): Promise<Record<string, unknown>[]> {
  const got = await eventually(async () => {
    const notices = (await h!.fetch(agent)).filter((m) => m.type === LEASE_NOTICE_TYPE);
    return notices.length > 0 && notices;
  });
  return got.map((m) => m.body as Record<string, unknown>);
}

/** The error a call fails with. */
async function failure(work: Promise<unknown>): Promise<SwitchboardError> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SwitchboardError);
  return error as SwitchboardError;
}

/** Small globs, as in the unit test, for the Lua to be held to the TypeScript. */
const segment = fc.oneof(
  fc.constant("**"),
  fc
    .array(fc.constantFrom("a", "b", "*", "?"), { minLength: 1, maxLength: 3 })
    .map((c) => c.join(""))
    .filter((s) => !s.includes("**")),
);
const pattern = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join("/"));

describe("resource leases", () => {
  it("decide overlap in Lua exactly as the TypeScript does", async () => {
    h = new ServiceHarness();
    const store = new LeaseStore(h.redis, h.keys);
    const pairs = fc.sample(fc.tuple(pattern, pattern), 200);
    for (const [a, b] of pairs) {
      const request = { ttlMs: 60_000, exclusive: true, reason: "" };
      const first = await store.acquire({ ...request, holder: "ada", resources: [a] });
      expect(first.kind).toBe("granted");
      const second = await store.acquire({ ...request, holder: "bob", resources: [b] });
      expect(second.kind === "conflict", `${a} vs ${b}`).toBe(resourcesOverlap(a, b));
      for (const lease of [first, second]) {
        if (lease.kind === "granted")
          await store.change("release", lease.lease.id, lease.lease.holder);
      }
    }
  });

  it("grant all or nothing, name the holder and expiry, let shared leases coexist", async () => {
    h = new ServiceHarness();
    const ada = await acquire("ada", ["src/auth/**", "build-slot"], { reason: "auth refactor" });
    expect(ada.granted).toEqual(["src/auth/**", "build-slot"]);
    const refused = await acquire("bob", ["src/authz.ts", "src/auth/login.ts"]);
    expect(refused).toMatchObject({ lease_id: null, granted: [], fencing_token: null });
    expect(refused.conflicts).toEqual([
      {
        resource: "src/auth/login.ts",
        held: "src/auth/**",
        holder: "ada",
        lease_id: ada.lease_id,
        expires_at: ada.expires_at,
        reason: "auth refactor",
      },
    ]);
    expect((await acquire("bob", ["src/authz.ts"])).granted).toEqual(["src/authz.ts"]);
    const shared = await acquire("carol", ["docs/**"], { exclusive: false });
    const alsoShared = await acquire("dave", ["docs/api.md"], { exclusive: false });
    expect(alsoShared.fencing_token).toBeGreaterThan(shared.fencing_token!);
    expect((await acquire("erin", ["docs/api.md"])).conflicts.map((c) => c.holder).sort()).toEqual([
      "carol",
      "dave",
    ]);
    expect((await h.service.leases.list({ resource: "src/**" })).map((l) => l.holder)).toEqual([
      "ada",
      "bob",
    ]);
    expect((await h.service.leases.list({ holder: "dave" })).map((l) => l.resources)).toEqual([
      ["docs/api.md"],
    ]);
  });

  it("let only the holder renew or release, and refuse unknown leases", async () => {
    h = new ServiceHarness();
    const ada = await acquire("ada", ["build-slot"]);
    const forbidden = await failure(h.service.leases.release("bob", ada.lease_id!));
    expect(forbidden.code).toBe("FORBIDDEN");
    expect(forbidden.message).toContain("held by 'ada'");
    expect((await failure(h.service.leases.renew("bob", ada.lease_id!, 10))).code).toBe(
      "FORBIDDEN",
    );
    const renewed = await h.service.leases.renew("ada", ada.lease_id!, 600);
    expect(renewed.fencing_token).toBe(ada.fencing_token);
    expect(Date.parse(renewed.expires_at)).toBeGreaterThan(Date.parse(ada.expires_at!));
    const unknown = await failure(
      h.service.leases.renew("ada", "01890000-0000-7000-8000-000000000000", 5),
    );
    expect(unknown).toMatchObject({ code: "NOT_FOUND", field: "lease_id" });
    await h.service.leases.release("ada", ada.lease_id!);
    expect((await failure(h.service.leases.release("ada", ada.lease_id!))).message).toContain(
      "released already",
    );
  });

  it("end an expired lease for everyone: a new grant has a larger token, the late holder is told who has it", async () => {
    h = new ServiceHarness();
    await h.register("ada", "bob");
    await h.worker();
    const ada = await acquire("ada", ["src/**"], { ttl_seconds: 1 });
    const refused = await acquire("bob", ["src/main.ts"]);
    expect(refused.conflicts[0]?.holder).toBe("ada");
    const bob = await eventually(async () => {
      const got = await acquire("bob", ["src/main.ts"]);
      return got.lease_id !== null && got;
    });
    expect(bob.fencing_token).toBeGreaterThan(ada.fencing_token!);
    for (const late of [
      h.service.leases.release("ada", ada.lease_id!),
      h.service.leases.renew("ada", ada.lease_id!, 60),
    ]) {
      const expired = await failure(late);
      expect(expired.code).toBe("LEASE_EXPIRED");
      expect(expired.message).toContain(`held now by 'bob' (lease ${bob.lease_id}`);
      expect(expired.data).toMatchObject({ new_holder: "bob", new_lease_id: bob.lease_id });
    }
    // The sweep ends it for good and tells ada (stale token) and bob (it freed).
    await h.service.sweep();
    expect((await failure(h.service.leases.release("ada", ada.lease_id!))).code).toBe(
      "LEASE_EXPIRED",
    );
    expect((await noticesOf("ada"))[0]).toMatchObject({
      event: "lease_expired",
      lease_id: ada.lease_id,
      fencing_token: ada.fencing_token,
    });
    expect((await noticesOf("bob"))[0]).toMatchObject({ event: "lease_freed", how: "expired" });
  });

  it("wait for a conflict to clear, and tell holder and waiters of a break", async () => {
    h = new ServiceHarness();
    await h.register("ada", "bob", "ops");
    await h.worker();
    const ada = await acquire("ada", ["db-migrations"], { ttl_seconds: 1 });
    const waited = await acquire("bob", ["db-migrations"], { wait_seconds: 10 });
    expect(waited.fencing_token).toBeGreaterThan(ada.fencing_token!);
    const refused = await acquire("ada", ["db-migrations"]);
    expect(refused.conflicts[0]?.lease_id).toBe(waited.lease_id);
    const broken = await h.service.leases.breakLease("ops", waited.lease_id!, "stuck");
    expect(broken.holder).toBe("bob");
    expect((await failure(h.service.leases.renew("bob", waited.lease_id!, 60))).message).toMatch(
      /broken by 'ops'.*\(stuck\)/,
    );
    expect((await noticesOf("bob"))[0]).toMatchObject({
      event: "lease_broken",
      by: "ops",
      reason: "stuck",
    });
    expect((await noticesOf("ada"))[0]).toMatchObject({ event: "lease_freed", how: "broken" });
  });
});
