import { z } from "zod";
import { positiveInt } from "./fields.js";

/**
 * The most partitions a pipeline may have: each costs every worker a blocking connection
 * per stage it runs, and `switchboard status` a row.
 * @defaultValue 64
 */
export const MAX_PARTITIONS = 64;

/**
 * `partitions`: how many independent copies of the stage chain (`{p0}`…`{pN-1}`) messages
 * are spread over, by thread. One (the default) is the single-Redis setup; more spread the
 * streams over a Redis Cluster's nodes. Fixed once messages flow: see `docs/scaling.md`.
 */
export const PartitionsSchema = positiveInt("partitions")
  .max(MAX_PARTITIONS, {
    error: `at most ${MAX_PARTITIONS} partitions (each one is a blocking connection per stage in every worker)`,
  })
  .default(1);

/**
 * `ordering`: `any` lets every worker take any entry of any partition (the most throughput;
 * a thread's messages may overtake one another when several workers share a stage);
 * `thread` gives each partition one owning worker at a time, under a lease with a fencing
 * token, so a thread's messages reach each inbox in the order of their `seq`.
 */
export const OrderingSchema = z
  .enum(["any", "thread"], {
    error: "expected `any` (throughput first) or `thread` (each thread in order)",
  })
  .default("any");

/** The `ownership` block: the lease an owning worker holds on a partition (`ordering: thread`). */
export const OwnershipSchema = z.strictObject({
  /** How long a lease lasts unless renewed: how soon a dead owner's partitions move on. */
  leaseMs: positiveInt("milliseconds").min(500, { error: "at least 500 ms" }).default(5000),
});
