import { Queue } from "bullmq";
import { QUEUE_NAMES } from "../retry/queues.js";
import { allPartitions } from "../streams/partitions.js";
import { metrics } from "../telemetry/metrics.js";
import { Breakers, type BreakerState, type BreakerView } from "../webhook/breaker.js";
import type { StatusSource } from "./status.js";

export const JOB_STATES = ["waiting", "delayed", "active", "failed"] as const;
export type JobState = (typeof JOB_STATES)[number];

/** What waits to be tried again, and the webhook endpoints that failed lately. */
export interface FailureStatus {
  /** Jobs per state of each BullMQ queue: stage retries and webhook pushes. */
  retry_queues: Record<string, Record<JobState, number>>;
  breakers: BreakerView[];
}

/**
 * Reads the retry queues (through BullMQ), each summed over the partitions, and the
 * breakers, on the source's connection.
 */
export async function readFailureStatus(source: StatusSource): Promise<FailureStatus> {
  const { redis, keys, pipeline } = source;
  const prefixes = allPartitions(pipeline.partitions).map((p) =>
    keys.forPartition(p).queuePrefix(),
  );
  const [queues, breakers] = await Promise.all([
    Promise.all(
      QUEUE_NAMES.map(async (name) => {
        const counts = await Promise.all(prefixes.map((prefix) => jobCounts(redis, prefix, name)));
        const total = (state: JobState) => counts.reduce((n, c) => n + (c[state] ?? 0), 0);
        return [name, Object.fromEntries(JOB_STATES.map((s) => [s, total(s)]))] as const;
      }),
    ),
    new Breakers(redis, keys, pipeline).list(),
  ]);
  return {
    retry_queues: Object.fromEntries(queues) as FailureStatus["retry_queues"],
    breakers,
  };
}

async function jobCounts(
  redis: StatusSource["redis"],
  prefix: string,
  name: string,
): Promise<Record<string, number>> {
  // A queue object on a connection it does not own: closing it leaves the connection be.
  // It only reads: without skipMetasUpdate BullMQ would write the queue's meta key.
  const queue = new Queue(name, { connection: redis, prefix, skipMetasUpdate: true });
  try {
    return await queue.getJobCounts(...JOB_STATES);
  } finally {
    await queue.close();
  }
}

/** Sets the retry-queue and breaker gauges. */
export function setFailureGauges(status: FailureStatus): void {
  metrics.retryJobs.reset();
  for (const [queue, counts] of Object.entries(status.retry_queues)) {
    for (const state of JOB_STATES) metrics.retryJobs.set({ queue, state }, counts[state]);
  }
  const byState: Record<BreakerState, number> = { closed: 0, open: 0, half_open: 0 };
  for (const breaker of status.breakers) byState[breaker.state] += 1;
  for (const [state, count] of Object.entries(byState)) {
    metrics.breakers.set({ state: state as BreakerState }, count);
  }
}
