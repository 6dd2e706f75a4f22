import { setTimeout as delay } from "node:timers/promises";
import type { Conflict, LeaseRecord, LeaseStore, Successor } from "../leases/store.js";
import { SwitchboardError } from "../protocol/errors.js";
import { resourcesOverlap } from "../protocol/resource-glob.js";
import type { ToolInput } from "../protocol/tools.js";
import type { LeaseNotices } from "./lease-notices.js";

/** How often a waiting `acquire_lease` tries again. @defaultValue 200 ms */
const LEASE_RETRY_MS = 200;

const iso = (ms: number): string => new Date(ms).toISOString();

/** A lease as the tools and the CLI show it. */
export interface LeaseView {
  lease_id: string;
  holder: string;
  resources: string[];
  exclusive: boolean;
  reason: string | null;
  fencing_token: number;
  granted_at: string;
  expires_at: string;
}

export interface ConflictView {
  /** The resource asked for. */
  resource: string;
  /** The overlapping resource of the lease in the way. */
  held: string;
  holder: string;
  lease_id: string;
  expires_at: string;
  reason: string | null;
}

/** What `acquire_lease` answers: a grant (conflicts empty), or the conflicts (nothing granted). */
export interface AcquireResult {
  lease_id: string | null;
  granted: string[];
  conflicts: ConflictView[];
  fencing_token: number | null;
  expires_at: string | null;
}

export function leaseView(lease: LeaseRecord): LeaseView {
  return {
    lease_id: lease.id,
    holder: lease.holder,
    resources: lease.resources,
    exclusive: lease.exclusive,
    reason: lease.reason === "" ? null : lease.reason,
    fencing_token: lease.fencing_token,
    granted_at: iso(lease.granted_at),
    expires_at: iso(lease.expires_at),
  };
}

const conflictView = (c: Conflict): ConflictView => ({
  ...c,
  expires_at: iso(c.expires_at),
  reason: c.reason === "" ? null : c.reason,
});

/**
 * Resource leases for agents: grants (waiting for conflicts to clear when asked), renewals,
 * releases, breaks, and the notices that go with them. The checks that must be atomic are
 * the store's Lua scripts; this class turns their answers into results and errors.
 */
export class Leases {
  constructor(
    private readonly store: LeaseStore,
    private readonly notices: LeaseNotices,
    /** The caller's signal joined with the front end's stop (see `Switchboard.stopWaiting`). */
    private readonly waitSignal: (signal: AbortSignal | undefined) => AbortSignal,
  ) {}

  /**
   * All or nothing; with `wait_seconds`, tries again until granted or the time is up, or
   * until the call is cancelled or the front end stops.
   */
  async acquire(
    agent: string,
    input: ToolInput<"acquire_lease">,
    cancelled?: AbortSignal,
  ): Promise<AcquireResult> {
    const signal = this.waitSignal(cancelled);
    const resources = [...new Set(input.resources)];
    const deadline = Date.now() + input.wait_seconds * 1000;
    for (;;) {
      const outcome = await this.store.acquire({
        holder: agent,
        resources,
        ttlMs: input.ttl_seconds * 1000,
        exclusive: input.exclusive,
        reason: input.reason ?? "",
      });
      if (outcome.kind === "granted") {
        const { lease } = outcome;
        return {
          lease_id: lease.id,
          granted: lease.resources,
          conflicts: [],
          fencing_token: lease.fencing_token,
          expires_at: iso(lease.expires_at),
        };
      }
      const left = deadline - Date.now();
      if (left <= 0 || signal.aborted) {
        return {
          lease_id: null,
          granted: [],
          conflicts: outcome.conflicts.map(conflictView),
          fencing_token: null,
          expires_at: null,
        };
      }
      await delay(Math.min(LEASE_RETRY_MS, left), undefined, { signal }).catch(() => undefined);
    }
  }

  async renew(agent: string, leaseId: string, ttlSeconds: number): Promise<LeaseView> {
    const changed = await this.store.change("renew", leaseId, agent, { ttlMs: ttlSeconds * 1000 });
    return leaseView(this.#held(changed, leaseId, agent, "renew"));
  }

  async release(agent: string, leaseId: string): Promise<LeaseView> {
    const lease = this.#held(
      await this.store.change("release", leaseId, agent),
      leaseId,
      agent,
      "release",
    );
    await this.notices.ended([lease], "released", agent);
    return leaseView(lease);
  }

  /** Ends someone's lease now (admins, operators; the caller checks), telling the holder and the waiters. */
  async breakLease(by: string, leaseId: string, reason?: string): Promise<LeaseView> {
    const changed = await this.store.change("break", leaseId, by, { reason: reason ?? "" });
    if (changed.kind !== "ok") {
      throw new SwitchboardError(
        "NOT_FOUND",
        changed.kind === "unknown"
          ? unknownLease(leaseId)
          : `lease ${leaseId} is not live: ${endedText(changed.lease)}; nothing to break`,
        { field: "lease_id" },
      );
    }
    await this.notices.ended([changed.lease], "broken", by);
    return leaseView(changed.lease);
  }

  /** Live leases, by resource overlap and holder, soonest to expire first. */
  async list(
    filter: { resource?: string | undefined; holder?: string | undefined } = {},
  ): Promise<LeaseView[]> {
    const { live } = await this.store.table();
    return live
      .filter((l) => filter.holder === undefined || l.holder === filter.holder)
      .filter(
        (l) =>
          filter.resource === undefined ||
          l.resources.some((r) => resourcesOverlap(r, filter.resource!)),
      )
      .sort((a, b) => a.expires_at - b.expires_at)
      .map(leaseView);
  }

  /** Ends the expired leases for good and tells their holders and waiters (the sweeper's part). */
  async reap(): Promise<void> {
    const expired = await this.store.reap();
    if (expired.length > 0) await this.notices.ended(expired, "expired");
  }

  /** The lease of a renew or release that succeeded; the error that says why not. */
  #held(
    changed: Awaited<ReturnType<LeaseStore["change"]>>,
    leaseId: string,
    agent: string,
    verb: "renew" | "release",
  ): LeaseRecord {
    switch (changed.kind) {
      case "ok":
        return changed.lease;
      case "unknown":
        throw new SwitchboardError("NOT_FOUND", unknownLease(leaseId), { field: "lease_id" });
      case "forbidden":
        throw new SwitchboardError(
          "FORBIDDEN",
          `lease ${leaseId} is held by '${changed.lease.holder}', not by '${agent}': only its holder can ${verb} it ` +
            "(an admin agent can break_lease it); list_leases {holder} shows your own",
          { field: "lease_id" },
        );
      default:
        if (changed.lease.ended === "released") {
          throw new SwitchboardError(
            "NOT_FOUND",
            `lease ${leaseId} was released already (${iso(changed.lease.ended_at ?? 0)}); acquire_lease for a new one`,
            { field: "lease_id" },
          );
        }
        throw leaseExpired(changed.lease, changed.successors);
    }
  }
}

function unknownLease(leaseId: string): string {
  return `no lease ${leaseId}: never granted, or ended more than a day ago; list_leases shows the live ones`;
}

/** `expired at T`, `was broken by ops at T (reason)`. */
function endedText(lease: LeaseRecord): string {
  if (lease.ended === "broken") {
    const why = lease.break_reason ? ` (${lease.break_reason})` : "";
    return `it was broken by '${lease.ended_by ?? "an admin"}' at ${iso(lease.ended_at ?? 0)}${why}`;
  }
  if (lease.ended === "released") return `it was released at ${iso(lease.ended_at ?? 0)}`;
  return `it expired at ${iso(lease.expires_at)}`;
}

/** LEASE_EXPIRED naming who holds the resources now. */
function leaseExpired(lease: LeaseRecord, successors: readonly Successor[]): SwitchboardError {
  const now =
    successors.length === 0
      ? "nobody holds its resources now"
      : `its resources are held now by ${successors
          .map((s) => `'${s.holder}' (lease ${s.lease_id}, until ${iso(s.expires_at)})`)
          .join(", ")}`;
  const first = successors[0];
  return new SwitchboardError(
    "LEASE_EXPIRED",
    `lease ${lease.id} on ${lease.resources.join(", ")} is gone: ${endedText(lease)}, so fencing token ${lease.fencing_token} is stale; ${now}; acquire_lease again before writing`,
    {
      field: "lease_id",
      data: {
        lease_id: lease.id,
        fencing_token: lease.fencing_token,
        ...(first === undefined ? {} : { new_holder: first.holder, new_lease_id: first.lease_id }),
      },
    },
  );
}
