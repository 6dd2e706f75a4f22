import type { FailureStatus } from "./failures.js";
import { readFailureStatus } from "./failures.js";
import { readNodes, type NodeStatus } from "./nodes.js";
import { readStatus, type StatusReport, type StatusSource } from "./status.js";

/** What `switchboard status --json` prints and the console's pipeline page shows. */
export type PipelineStatus = StatusReport & FailureStatus & { nodes?: NodeStatus[] };

/**
 * Every stage of every partition (length, lag, pending, consumers, workers), the retry
 * queues and webhook breakers, and on a Redis Cluster its masters.
 */
export async function readPipelineStatus(source: StatusSource): Promise<PipelineStatus> {
  const [status, failures, nodes] = await Promise.all([
    readStatus(source),
    readFailureStatus(source),
    readNodes(source.redis, source.keys, source.pipeline.partitions),
  ]);
  return { ...status, ...failures, ...(nodes === undefined ? {} : { nodes }) };
}
