/**
 * The BullMQ peer of `npm run bench -- --peers`, the benchmark's side: queues on a key
 * prefix of the run's own on the benchmark's Redis, the producer, and the worker process
 * (bench/peer-bullmq-worker.ts). Everything under the prefix is removed after.
 */
import { randomBytes } from "node:crypto";
import { Queue, type JobsOptions } from "bullmq";
import type { Envelope } from "../src/protocol/envelope.js";
import { connectRedis } from "../src/redis/connection.js";
import { Keys } from "../src/redis/keys.js";
import { PRODUCE_BATCH, type AcceptedTimes } from "./load.js";
import type { Chain, OpenChain } from "./peer-measure.js";
import { HOPS } from "./peer-hops.js";
import { spawnProc, stopAll } from "./procs.js";
import * as rt from "./redis-tools.js";
import type { Setup } from "./run.js";

/**
 * Jobs each hop's Worker runs at once: its processors wait on Redis, not the CPU.
 * @defaultValue 100
 */
export const BULLMQ_CONCURRENCY = 100;

/** Every job: done ones removed (nothing reads them), one attempt, failed ones kept to count. */
export const BULLMQ_JOB_OPTIONS: JobsOptions = { removeOnComplete: true, attempts: 1 };

/** Job states in which a message has not been through its hop yet. */
const UNFINISHED = ["waiting", "active", "delayed", "prioritized"] as const;
const WORKER = new URL("./peer-bullmq-worker.ts", import.meta.url).pathname;
/** Status hashes read per pipeline when collecting the persist times. */
const READ_BATCH = 1000;

export function bullmqChain(setup: Setup, redisUrl: string): Chain {
  return {
    key: "bullmq",
    name: "BullMQ, a queue per hop",
    async open(): Promise<OpenChain> {
      const keys = new Keys(`bench-${randomBytes(4).toString("hex")}`);
      const connection = connectRedis(redisUrl, "command", "bench:bullmq:producer");
      const prefix = keys.queuePrefix();
      const queues = HOPS.map((hop) => new Queue(hop, { connection, prefix }));
      const first = queues[0]!;
      await Promise.all(queues.map((queue) => queue.waitUntilReady()));
      const proc = spawnProc("bullmq", ["--import", "tsx", WORKER], {
        ...process.env,
        REDIS_URL: redisUrl,
        BENCH_PREFIX: keys.prefix,
      });
      return {
        procs: [proc],
        broker: "redis",
        async produce(messages: readonly Envelope[]): Promise<AcceptedTimes> {
          const accepted: AcceptedTimes = new Map();
          for (let i = 0; i < messages.length; i += PRODUCE_BATCH) {
            const batch = messages.slice(i, i + PRODUCE_BATCH);
            const jobs = batch.map((data) => ({
              name: "validate",
              data,
              opts: BULLMQ_JOB_OPTIONS,
            }));
            await first.addBulk(jobs);
            const at = Date.now();
            for (const envelope of batch) accepted.set(envelope.id, at);
          }
          return accepted;
        },
        async inFlight(): Promise<number> {
          const counts = await Promise.all(
            queues.map((q) => q.getJobCounts(...UNFINISHED, "failed")),
          );
          const failed = counts.reduce((sum, c) => sum + (c.failed ?? 0), 0);
          if (failed > 0)
            throw new Error(`${failed} BullMQ jobs failed (the worker said why above)`);
          return counts.reduce(
            (sum, c) => sum + UNFINISHED.reduce((n, s) => n + (c[s] ?? 0), 0),
            0,
          );
        },
        async persistedAt(ids: readonly string[]): Promise<Map<string, number>> {
          const at = new Map<string, number>();
          for (let i = 0; i < ids.length; i += READ_BATCH) {
            const batch = ids.slice(i, i + READ_BATCH);
            const pipeline = setup.admin.pipeline();
            for (const id of batch) pipeline.hget(keys.message(id), "at");
            const replies = (await pipeline.exec()) ?? [];
            replies.forEach(([error, value], j) => {
              if (error === null && typeof value === "string") at.set(batch[j]!, Number(value));
            });
          }
          return at;
        },
        async close(): Promise<void> {
          await stopAll();
          await Promise.all(queues.map((queue) => queue.close()));
          connection.disconnect();
          await rt.deletePrefix(setup.admin, keys);
        },
      };
    },
  };
}
