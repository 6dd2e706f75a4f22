/**
 * The BullMQ peer chain of `npm run bench -- --peers`: a queue per hop (validate → route →
 * deliver → persist) and a Worker per queue, all in this one process. Each hop's processor
 * gets its job's data (decoded by BullMQ), does the hop's work (bench/peer-hops.ts) and
 * adds a job with the result to the next hop's queue; deliver appends to the recipient's
 * inbox stream, persist writes the message's status hash.
 *
 * Environment: REDIS_URL, BENCH_PREFIX (the run's key prefix, removed by the benchmark).
 * Runs until SIGTERM, then lets the jobs in progress finish.
 */
import { Queue, Worker, type Job } from "bullmq";
import type { Envelope } from "../src/protocol/envelope.js";
import { connectRedis } from "../src/redis/connection.js";
import { Keys } from "../src/redis/keys.js";
import { BULLMQ_CONCURRENCY, BULLMQ_JOB_OPTIONS } from "./peer-bullmq.js";
import { HOPS, nextHop, route, status, validate, type HopName, type Routed } from "./peer-hops.js";

const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const keys = new Keys(process.env.BENCH_PREFIX ?? "bench");
const prefix = keys.queuePrefix();
const redis = connectRedis(url, "command", `bench:bullmq:${process.pid}`);
const queues = new Map(
  HOPS.map((hop) => [
    hop,
    new Queue(hop, { connection: redis, prefix, defaultJobOptions: BULLMQ_JOB_OPTIONS }),
  ]),
);

/** Hands the hop's result to the next hop's queue. */
async function handOn(hop: HopName, data: Envelope | Routed): Promise<void> {
  const next = nextHop(hop);
  if (next !== undefined) await queues.get(next)!.add(next, data);
}

const processors: Record<HopName, (job: Job) => Promise<void>> = {
  async validate(job) {
    await handOn("validate", validate(job.data));
  },
  async route(job) {
    await handOn("route", route(job.data as Envelope));
  },
  async deliver(job) {
    const routed = job.data as Routed;
    const inbox = keys.inbox(routed.recipient);
    await redis.xadd(inbox, "*", "mid", routed.envelope.id, "env", JSON.stringify(routed.envelope));
    await handOn("deliver", routed);
  },
  async persist(job) {
    const done = status(job.data as Routed);
    await redis.hset(keys.message(done.id), done);
  },
};

const workers = HOPS.map((hop) => {
  const worker = new Worker(hop, processors[hop], {
    connection: connectRedis(url, "reader", `bench:bullmq:${hop}:${process.pid}`),
    prefix,
    concurrency: BULLMQ_CONCURRENCY,
  });
  worker.on("error", (error) => process.stderr.write(`${hop} worker: ${error.message}\n`));
  worker.on("failed", (job, error) =>
    process.stderr.write(`${hop} job ${job?.id ?? "?"} failed: ${error.message}\n`),
  );
  return worker;
});

process.on("SIGTERM", () => {
  void (async function stop() {
    await Promise.all(workers.map((worker) => worker.close()));
    await Promise.all([...queues.values()].map((queue) => queue.close()));
    redis.disconnect();
    process.exit(0);
  })();
});
