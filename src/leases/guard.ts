import { resourceCovers } from "../protocol/resource-glob.js";
import type { LeaseRecord, LeaseTable } from "./store.js";

/**
 * The decision of `switchboard leases guard` (a Git pre-commit hook), apart from Git and
 * Redis: which staged paths the committing agent may not commit, and why. A path is refused
 *
 * - when a live **exclusive** lease of another agent covers it: that agent is working on it;
 * - when a fencing token the agent presents belongs to a lease that covers the path but has
 *   ended (expired, broken or released): the agent's claim is stale, whoever holds the path
 *   now, so a holder that stalled past its TTL cannot commit over its successor's work.
 *
 * A presented token that matches no lease of the agent is refused as a whole.
 */

export interface GuardRefusal {
  /** The staged path, or undefined for a problem with a presented token itself. */
  path: string | undefined;
  message: string;
}

const iso = (ms: number): string => new Date(ms).toISOString();

function heldText(lease: LeaseRecord): string {
  return `held by '${lease.holder}' (lease ${lease.id}, fencing token ${lease.fencing_token}, until ${iso(lease.expires_at)}${lease.reason === "" ? "" : `: ${lease.reason}`})`;
}

function endedText(lease: LeaseRecord): string {
  const at = iso(lease.ended_at ?? lease.expires_at);
  if (lease.ended === "broken") return `was broken by '${lease.ended_by ?? "an admin"}' at ${at}`;
  if (lease.ended === "released") return `was released at ${at}`;
  return `expired at ${at}`;
}

export function guardCommit(
  table: LeaseTable,
  paths: readonly string[],
  agent: string,
  tokens: readonly number[],
): GuardRefusal[] {
  const refusals: GuardRefusal[] = [];
  const all = [...table.live, ...table.ended];
  const presented: LeaseRecord[] = [];
  for (const token of tokens) {
    const lease = all.find((l) => l.fencing_token === token && l.holder === agent);
    if (lease === undefined) {
      refusals.push({
        path: undefined,
        message: `fencing token ${token} belongs to no lease of '${agent}' (ended more than a day ago, another agent's, or mistyped); acquire_lease again and use its fencing_token`,
      });
    } else presented.push(lease);
  }
  const live = new Set(table.live.map((l) => l.id));
  for (const path of paths) {
    for (const lease of table.live) {
      if (
        lease.exclusive &&
        lease.holder !== agent &&
        lease.resources.some((r) => resourceCovers(r, path))
      ) {
        refusals.push({ path, message: `${heldText(lease)}, exclusively` });
      }
    }
    for (const lease of presented) {
      if (live.has(lease.id) || !lease.resources.some((r) => resourceCovers(r, path))) continue;
      const now = table.live.filter(
        (l) => l.id !== lease.id && l.resources.some((r) => resourceCovers(r, path)),
      );
      const holders =
        now.length === 0 ? "nobody holds it now" : `now ${now.map(heldText).join(", ")}`;
      refusals.push({
        path,
        message: `stale fencing token ${lease.fencing_token}: your lease ${lease.id} ${endedText(lease)}; ${holders}; acquire_lease again before committing`,
      });
    }
  }
  return refusals;
}
