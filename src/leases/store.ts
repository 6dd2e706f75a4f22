import { z } from "zod";
import { uuidv7 } from "../protocol/ids.js";
import type { RedisClient } from "../redis/client.js";
import type { Keys } from "../redis/keys.js";
import {
  acquireResourceLeaseScript,
  changeResourceLeaseScript,
  reapResourceLeasesScript,
  type LeaseKeys,
  type LeaseOp,
} from "./scripts.js";

/** cjson writes an empty Lua table as `{}`: read it as an empty list. */
const list = <T extends z.ZodType>(item: T) =>
  z.preprocess((v): unknown => (Array.isArray(v) ? v : []), z.array(item));

/** A lease as the scripts store it (times in ms by Redis's clock). */
const LeaseRecordSchema = z.object({
  id: z.string(),
  holder: z.string(),
  resources: list(z.string()),
  exclusive: z.boolean(),
  reason: z.string().default(""),
  fencing_token: z.number(),
  granted_at: z.number(),
  expires_at: z.number(),
  waiters: z.string().default(""),
  ended: z.enum(["released", "broken", "expired"]).optional(),
  ended_at: z.number().optional(),
  ended_by: z.string().optional(),
  break_reason: z.string().optional(),
});
export type LeaseRecord = z.infer<typeof LeaseRecordSchema>;

const ConflictSchema = z.object({
  /** The resource asked for. */
  resource: z.string(),
  /** The resource of the lease in the way that overlaps it. */
  held: z.string(),
  holder: z.string(),
  lease_id: z.string(),
  expires_at: z.number(),
  reason: z.string().default(""),
});
export type Conflict = z.infer<typeof ConflictSchema>;

const SuccessorSchema = z.object({
  holder: z.string(),
  lease_id: z.string(),
  expires_at: z.number(),
});
export type Successor = z.infer<typeof SuccessorSchema>;

export const parseLease = (json: string): LeaseRecord => LeaseRecordSchema.parse(JSON.parse(json));

/** The agents waiting for a lease to end. */
export const waitersOf = (lease: LeaseRecord): string[] =>
  lease.waiters === "" ? [] : lease.waiters.split(" ");

export interface AcquireRequest {
  holder: string;
  resources: readonly string[];
  ttlMs: number;
  exclusive: boolean;
  reason: string;
}

export type Acquired =
  { kind: "granted"; lease: LeaseRecord } | { kind: "conflict"; conflicts: Conflict[] };

export type Changed =
  | { kind: "ok"; lease: LeaseRecord }
  | { kind: "forbidden"; lease: LeaseRecord }
  | { kind: "unknown" }
  | { kind: "expired" | "ended"; lease: LeaseRecord; successors: Successor[] };

/** Every lease of the team, by Redis's clock. */
export interface LeaseTable {
  /** Redis's time when read, ms. */
  now: number;
  /** Unexpired leases. */
  live: LeaseRecord[];
  /** Ended leases kept for a while (expired ones the reaper has not moved yet included). */
  ended: LeaseRecord[];
}

/**
 * How long an ended lease is remembered, so that its holder's late renew or release, and
 * the guard hook, learn that it ended (rather than that it never was).
 * @defaultValue 24 hours
 */
export const ENDED_LEASE_RETENTION_MS = 24 * 3_600_000;

/** The resource leases of one team (a key prefix): the scripts' typed calls and the reads. */
export class LeaseStore {
  readonly #redis: RedisClient;
  readonly #keys: LeaseKeys;

  constructor(redis: RedisClient, keys: Keys) {
    this.#redis = redis;
    this.#keys = {
      live: keys.leases(),
      ended: keys.leasesEnded(),
      endedAt: keys.leasesEndedAt(),
      fence: keys.leaseFence(),
    };
  }

  async acquire(request: AcquireRequest): Promise<Acquired> {
    const [kind, json] = await acquireResourceLeaseScript.run(this.#redis, {
      keys: this.#keys,
      id: uuidv7(),
      ...request,
    });
    if (kind === "granted") return { kind, lease: parseLease(json) };
    return { kind: "conflict", conflicts: list(ConflictSchema).parse(JSON.parse(json)) };
  }

  async change(
    op: LeaseOp,
    id: string,
    caller: string,
    options: { ttlMs?: number; reason?: string } = {},
  ): Promise<Changed> {
    const [kind, json, successors] = await changeResourceLeaseScript.run(this.#redis, {
      keys: this.#keys,
      op,
      id,
      caller,
      ...options,
    });
    if (kind === "unknown" || json === undefined) return { kind: "unknown" };
    const lease = parseLease(json);
    if (kind === "ok" || kind === "forbidden") return { kind, lease };
    return {
      kind: kind === "expired" ? "expired" : "ended",
      lease,
      successors: list(SuccessorSchema).parse(JSON.parse(successors ?? "[]")),
    };
  }

  /** Moves expired leases to the ended ones; the leases that expired since the last reap. */
  async reap(retentionMs = ENDED_LEASE_RETENTION_MS): Promise<LeaseRecord[]> {
    const reaped = await reapResourceLeasesScript.run(this.#redis, {
      keys: this.#keys,
      retentionMs,
    });
    return reaped.map(parseLease);
  }

  /** Every lease, live and ended, read at once (one slot: one node, one round trip). */
  async table(): Promise<LeaseTable> {
    const [live, ended, time] = await Promise.all([
      this.#redis.hgetall(this.#keys.live),
      this.#redis.hgetall(this.#keys.ended),
      this.#redis.time(),
    ]);
    const now = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
    const leases = Object.values(live).map(parseLease);
    return {
      now,
      live: leases.filter((l) => l.expires_at > now),
      ended: [
        ...leases
          .filter((l) => l.expires_at <= now)
          .map((l) => ({ ...l, ended: "expired" as const, ended_at: l.expires_at })),
        ...Object.values(ended).map(parseLease),
      ],
    };
  }
}
