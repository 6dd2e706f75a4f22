import { serversOf, type RedisClient } from "../src/redis/client.js";
import type { Keys } from "../src/redis/keys.js";

/** Commands the benchmark itself sent, by `INFO commandstats` name, to subtract from the totals. */
export class OwnCommands {
  readonly counts = new Map<string, number>();

  add(name: string, n = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + n);
  }
}

export interface ServerSnapshot {
  /** Calls per command (`xadd`, `xinfo|groups`, …), Lua-internal calls included, all masters. */
  calls: Map<string, number>;
  /** Redis CPU (user + system, all threads), ms, all masters. */
  cpuMs: number;
  /** Each master's CPU, ms, by `host:port`. */
  cpuMsByNode: Map<string, number>;
  /** Reads from client sockets (`total_reads_processed`), all masters: a pipelined batch is one. */
  reads: number;
}

/** `INFO commandstats cpu stats` of the Redis or of each master of a cluster: counted in `own`. */
export async function snapshot(admin: RedisClient, own: OwnCommands): Promise<ServerSnapshot> {
  const servers = serversOf(admin);
  const infos = await Promise.all(
    servers.map((server) => server.info("commandstats", "cpu", "stats")),
  );
  own.add("info", servers.length);
  const calls = new Map<string, number>();
  const cpuMsByNode = new Map<string, number>();
  infos.forEach((info, i) => {
    for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      calls.set(match[1]!, (calls.get(match[1]!) ?? 0) + Number(match[2]));
    }
    const seconds = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(info)?.[1]);
    const { host, port } = servers[i]!.options;
    cpuMsByNode.set(`${host}:${port}`, (seconds("used_cpu_user") + seconds("used_cpu_sys")) * 1000);
  });
  const cpuMs = [...cpuMsByNode.values()].reduce((a, b) => a + b, 0);
  const reads = infos.reduce(
    (sum, info) => sum + Number(/^total_reads_processed:(\d+)/m.exec(info)?.[1] ?? NaN),
    0,
  );
  return { calls, cpuMs, cpuMsByNode, reads };
}

/** Calls between two snapshots, less the benchmark's own; zero entries dropped. */
export function callsBetween(
  before: ServerSnapshot,
  after: ServerSnapshot,
  own: OwnCommands,
): Map<string, number> {
  const delta = new Map<string, number>();
  for (const [name, calls] of after.calls) {
    const n = calls - (before.calls.get(name) ?? 0) - (own.counts.get(name) ?? 0);
    if (n > 0) delta.set(name, n);
  }
  return delta;
}

export interface GroupState {
  stream: string;
  consumers: number;
  pending: number;
  /** Entries not yet read by the group; null if Redis cannot tell. */
  lag: number | null;
}

/** `XINFO GROUPS` of each stream, the named group only; a stream not there yet has no consumers. */
export async function groupStates(
  admin: RedisClient,
  streams: readonly { key: string; group: string }[],
  own: OwnCommands,
): Promise<GroupState[]> {
  // Sent together, not as a pipeline: on a cluster the streams are on several nodes.
  const replies = await Promise.all(
    streams.map(({ key }) => admin.xinfo("GROUPS", key).catch(() => [])),
  );
  own.add("xinfo|groups", streams.length);
  return streams.map(({ key, group }, i) => {
    const rows = (replies[i] ?? []) as unknown[][];
    for (const row of rows) {
      const r: Record<string, unknown> = {};
      for (let j = 0; j + 1 < row.length; j += 2) r[String(row[j])] = row[j + 1];
      if (r.name !== group) continue;
      const lag = r.lag === null || r.lag === undefined ? null : Number(r.lag);
      return { stream: key, consumers: Number(r.consumers), pending: Number(r.pending), lag };
    }
    return { stream: key, consumers: 0, pending: 0, lag: null };
  });
}

/** Total length of the inbox streams. */
export async function inboxTotal(
  admin: RedisClient,
  inboxes: readonly string[],
  own: OwnCommands,
): Promise<number> {
  const lengths = await Promise.all(inboxes.map((key) => admin.xlen(key).catch(() => 0)));
  own.add("xlen", inboxes.length);
  return lengths.reduce((sum, n) => sum + n, 0);
}

/** The millisecond part of a stream entry id: the Redis clock when it was appended. */
export function idMs(id: string): number {
  return Number(id.slice(0, id.indexOf("-")));
}

/**
 * End-to-end latency of each measured message: its inbox entry's id time minus its
 * ingress entry's id time, both from the Redis clock. Entries of other messages
 * (the warm-up) are skipped; a measured message found twice is an error.
 */
export async function readLatencies(
  admin: RedisClient,
  inboxes: readonly string[],
  acceptedMs: ReadonlyMap<string, number>,
): Promise<number[]> {
  const latencies: number[] = [];
  const seen = new Set<string>();
  for (const key of inboxes) {
    let start = "-";
    for (;;) {
      const page = (await admin.xrangeBuffer(key, start, "+", "COUNT", 5000)) as [
        Buffer,
        Buffer[],
      ][];
      for (const [rawId, fields] of page) {
        const id = rawId.toString("latin1");
        let mid: string | undefined;
        for (let i = 0; i + 1 < fields.length; i += 2) {
          if (fields[i]!.toString("latin1") === "mid") mid = fields[i + 1]!.toString("latin1");
        }
        const accepted = mid === undefined ? undefined : acceptedMs.get(mid);
        if (mid === undefined || accepted === undefined) continue;
        if (seen.has(mid)) throw new Error(`message ${mid} is in the inboxes twice`);
        seen.add(mid);
        latencies.push(idMs(id) - accepted);
      }
      if (page.length < 5000) break;
      start = `(${page[page.length - 1]![0].toString("latin1")}`;
    }
  }
  if (seen.size !== acceptedMs.size) {
    throw new Error(
      `found ${seen.size} of ${acceptedMs.size} measured messages in the inboxes when reading latencies`,
    );
  }
  return latencies;
}

/** Removes every key of a prefix (SCAN + UNLINK in batches, on each master); returns how many. */
export async function deletePrefix(admin: RedisClient, keys: Keys): Promise<number> {
  let removed = 0;
  for (const server of serversOf(admin)) {
    let cursor = "0";
    do {
      const [next, found] = await server.scan(cursor, "MATCH", keys.all(), "COUNT", 2000);
      cursor = next;
      // A key per UNLINK (sent together): a cluster node refuses one over several slots.
      const counts = await Promise.all(found.map((key) => server.unlink(key)));
      removed += counts.reduce((a, b) => a + b, 0);
    } while (cursor !== "0");
  }
  return removed;
}

/** Nearest-rank percentile of an ascending list. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)));
  return sorted[rank - 1]!;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The keys of `T` whose values are numbers. */
type NumberKeys<T> = { [K in keyof T]: T[K] extends number ? K : never }[keyof T];

/** The first run with each named figure replaced by its median across all the runs. */
export function mediansOf<T extends object>(
  runs: readonly T[],
  names: readonly NumberKeys<T>[],
): T {
  const first = runs[0];
  if (first === undefined) throw new Error("no runs to combine");
  const combined = { ...first };
  for (const name of names) {
    combined[name] = median(runs.map((r) => r[name] as number)) as T[NumberKeys<T>];
  }
  return combined;
}
