import { sendOne } from "./batch.js";
import type { RedisClient } from "./client.js";

/** XINFO replies are flat [name, value, …] arrays; this reads them into records. */
export function pairsToRecord(reply: unknown): Record<string, unknown> {
  const record = Object.create(null) as Record<string, unknown>;
  if (!Array.isArray(reply)) return record;
  for (let i = 0; i + 1 < reply.length; i += 2) {
    record[String(reply[i])] = reply[i + 1];
  }
  return record;
}

export interface GroupInfo {
  name: string;
  consumers: number;
  pending: number;
  lastDeliveredId: string;
  /** Entries not yet handed to this group; null when Redis cannot tell (after trims). */
  lag: number | null;
}

export interface ConsumerInfo {
  name: string;
  pending: number;
  idleMs: number;
}

export function parseGroups(reply: unknown): GroupInfo[] {
  if (!Array.isArray(reply)) return [];
  return reply.map((item) => {
    const r = pairsToRecord(item);
    return {
      name: String(r.name),
      consumers: Number(r.consumers),
      pending: Number(r.pending),
      lastDeliveredId: String(r["last-delivered-id"]),
      lag: r.lag === null || r.lag === undefined ? null : Number(r.lag),
    };
  });
}

export function parseConsumers(reply: unknown): ConsumerInfo[] {
  if (!Array.isArray(reply)) return [];
  return reply.map((item) => {
    const r = pairsToRecord(item);
    return { name: String(r.name), pending: Number(r.pending), idleMs: Number(r.idle) };
  });
}

/** A stream's consumer groups (`XINFO GROUPS`), asked of the master that holds the stream. */
export async function readGroups(redis: RedisClient, stream: string): Promise<GroupInfo[]> {
  return parseGroups(await sendOne(redis, (batch) => batch.xinfo("GROUPS", stream)));
}

/** A group's consumers (`XINFO CONSUMERS`), asked of the master that holds the stream. */
export async function readConsumers(
  redis: RedisClient,
  stream: string,
  group: string,
): Promise<ConsumerInfo[]> {
  return parseConsumers(await sendOne(redis, (batch) => batch.xinfo("CONSUMERS", stream, group)));
}

/** `cluster_state:ok` → `ok`, from INFO or CLUSTER INFO text. */
export function infoField(info: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)$`, "m").exec(info)?.[1]?.trim();
}
