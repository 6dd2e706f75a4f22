import { STAGE_NAMES } from "../config/pipeline.js";
import type { AgentStatus } from "../protocol/agent.js";
import { sendAndRead, sendBatch } from "../redis/batch.js";
import { metrics } from "../telemetry/metrics.js";
import { readFailureStatus, setFailureGauges } from "./failures.js";
import { withinTime } from "./readiness.js";
import { queueStatus, reply, type StatusReport, type StatusSource } from "./status.js";

/** How many agents the inbox backlog gauge names: a bounded label set. */
export const BACKLOG_TOP = 10;

export interface ClusterSnapshot {
  status: StatusReport;
  /** Agents by status, from their last contact and the `agents.*` thresholds. */
  agents: Record<AgentStatus, number>;
  /** The agents with the most unacknowledged messages (none with zero), most first. */
  backlog: { agent: string; unacked: number }[];
}

/**
 * Everything the cluster gauges show, in two round trips: the stage status, agents by
 * status and the directory in one batch; then each agent's unacknowledged count.
 */
export async function readCluster(
  source: StatusSource,
  now = Date.now(),
): Promise<ClusterSnapshot> {
  const { redis, keys, pipeline } = source;
  const { idleAfterMs, offlineAfterMs } = pipeline.agents;
  const directory = keys.directory();
  const { status, online, idle, offline, names } = await sendAndRead(redis, (batch) => {
    const read = queueStatus(batch, source, now);
    // The sweeper's rule: idle once silent for idleAfterMs, offline after offlineAfterMs.
    batch
      .zcount(directory, `(${now - idleAfterMs}`, "+inf")
      .zcount(directory, `(${now - offlineAfterMs}`, now - idleAfterMs)
      .zcount(directory, "-inf", now - offlineAfterMs)
      .zrange(directory, 0, -1);
    return (replies) => {
      const counts = replies.slice(-4).map(reply) as [number, number, number, string[]];
      const [online, idle, offline, names] = counts;
      return { status: read(replies), online, idle, offline, names };
    };
  });
  const counts = await sendBatch(redis, names, function queueGet(p, agent) {
    p.get(keys.unacked(agent));
  });
  const backlog = names
    .map((agent, i) => {
      const answer = counts[i]!;
      return { agent, unacked: answer.ok ? Number(answer.replies[0] ?? 0) : 0 };
    })
    .filter((b) => b.unacked > 0)
    .sort((a, b) => b.unacked - a.unacked || a.agent.localeCompare(b.agent))
    .slice(0, BACKLOG_TOP);
  return { status, agents: { online, idle, offline }, backlog };
}

/** Sets the cluster gauges from a snapshot; series of the previous scrape that are gone go. */
export function setClusterGauges(snapshot: ClusterSnapshot): void {
  clearClusterGauges();
  for (const { partition, stages } of snapshot.status.partitions) {
    for (const stage of STAGE_NAMES) {
      const s = stages[stage];
      const labels = { stage, partition: String(partition) };
      if (s.lag !== null) metrics.groupLag.set(labels, s.lag);
      metrics.groupPending.set(labels, s.pending);
      metrics.groupConsumers.set(labels, s.consumers);
      metrics.groupOldestPending.set(labels, (s.oldest_pending_ms ?? 0) / 1000);
    }
  }
  metrics.deadLetters.set({}, snapshot.status.dead_letters.length);
  for (const [status, count] of Object.entries(snapshot.agents)) {
    metrics.agents.set({ status: status as AgentStatus }, count);
  }
  for (const { agent, unacked } of snapshot.backlog) metrics.inboxBacklog.set({ agent }, unacked);
}

function clearClusterGauges(): void {
  for (const gauge of [
    metrics.groupLag,
    metrics.groupPending,
    metrics.groupConsumers,
    metrics.groupOldestPending,
    metrics.deadLetters,
    metrics.agents,
    metrics.inboxBacklog,
  ]) {
    gauge.reset();
  }
}

/**
 * Refreshes every cluster gauge before a scrape, within `health.redisTimeoutMs`. When
 * Redis does not answer the gauges are cleared, not left stale, and the error is thrown.
 */
export async function collectClusterGauges(source: StatusSource): Promise<void> {
  const { redisTimeoutMs } = source.pipeline.health;
  const results = await Promise.allSettled([
    withinTime(readCluster(source), redisTimeoutMs).then(setClusterGauges, (error: unknown) => {
      clearClusterGauges();
      throw error;
    }),
    withinTime(readFailureStatus(source), redisTimeoutMs).then(setFailureGauges),
  ]);
  const failed = results.find((r) => r.status === "rejected");
  if (failed !== undefined) throw failed.reason;
}
