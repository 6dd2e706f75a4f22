import type { Registry } from "../agents/registry.js";
import type { Ingress } from "../ingress/ingress.js";
import { waitersOf, type LeaseRecord } from "../leases/store.js";
import { SYSTEM_AGENT } from "../protocol/agent.js";
import { composeEnvelope } from "../protocol/compose.js";
import type { Envelope } from "../protocol/envelope.js";
import { toErrorInfo } from "../protocol/errors.js";
import type { Logger } from "../telemetry/log.js";

/** The type of the messages Switchboard sends about resource leases. */
export const LEASE_NOTICE_TYPE = "switchboard.lease";

/** How a lease ended, as its notices say it. */
export type LeaseEnd = "released" | "broken" | "expired";

const iso = (ms: number): string => new Date(ms).toISOString();

/** `src/auth/**, build-slot`, shortened to fit a subject line. */
function named(lease: LeaseRecord): string {
  const text = lease.resources.join(", ");
  return text.length <= 120 ? text : `${text.slice(0, 119)}…`;
}

/**
 * Tells agents about leases that ended: the holder of a broken or expired lease (its fencing
 * token is stale now), and every agent that was refused because of it (the resources may be
 * free). Each notice is a message from `switchboard` to the agent, through the pipeline like
 * any message; agents that are no longer registered are skipped. Never throws: a notice
 * that cannot be sent is logged.
 */
export class LeaseNotices {
  constructor(
    private readonly registry: Registry,
    private readonly ingress: Ingress,
    private readonly log: Logger,
  ) {}

  async ended(leases: readonly LeaseRecord[], how: LeaseEnd, by?: string): Promise<void> {
    try {
      const notices: [string, Envelope][] = [];
      for (const lease of leases) {
        this.log.info("lease ended", { lease_id: lease.id, holder: lease.holder, how, by });
        if (how !== "released") notices.push([lease.holder, this.#toHolder(lease, how, by)]);
        for (const waiter of waitersOf(lease)) {
          notices.push([waiter, this.#toWaiter(lease, waiter, how)]);
        }
      }
      const registered = await Promise.all(
        notices.map(async ([agent]) => (await this.registry.get(agent)) !== undefined),
      );
      const sent = notices.filter((_, i) => registered[i]).map(([, envelope]) => envelope);
      if (sent.length > 0) await this.ingress.acceptMany(sent);
    } catch (error) {
      this.log.warn("could not send lease notices", { how, error: toErrorInfo(error) });
    }
  }

  #toHolder(lease: LeaseRecord, how: "broken" | "expired", by: string | undefined): Envelope {
    const subject =
      how === "broken"
        ? `your lease on ${named(lease)} was broken by ${by ?? "an operator"}`
        : `your lease on ${named(lease)} expired`;
    return composeEnvelope({
      from: SYSTEM_AGENT,
      to: [lease.holder],
      type: LEASE_NOTICE_TYPE,
      subject: subject.slice(0, 256),
      body: {
        event: how === "broken" ? "lease_broken" : "lease_expired",
        lease_id: lease.id,
        resources: lease.resources,
        fencing_token: lease.fencing_token,
        ended_at: iso(lease.ended_at ?? lease.expires_at),
        ...(by === undefined ? {} : { by }),
        ...(lease.break_reason ? { reason: lease.break_reason } : {}),
        advice: `fencing token ${lease.fencing_token} is stale: stop writing these resources, and acquire_lease again before you go on`,
      },
    });
  }

  #toWaiter(lease: LeaseRecord, waiter: string, how: LeaseEnd): Envelope {
    return composeEnvelope({
      from: SYSTEM_AGENT,
      to: [waiter],
      type: LEASE_NOTICE_TYPE,
      subject: `lease of ${lease.holder} on ${named(lease)} ${how}: acquire_lease again`.slice(
        0,
        256,
      ),
      body: {
        event: "lease_freed",
        lease_id: lease.id,
        resources: lease.resources,
        holder: lease.holder,
        how,
        advice: "the resources you were refused may be free now: call acquire_lease again",
      },
    });
  }
}
