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
