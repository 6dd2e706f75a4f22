import { z } from "zod";
import { describeIssues, firstIssuePath } from "../protocol/issues.js";
import { SwitchboardError } from "../protocol/errors.js";
import { parseClusterNodes } from "./cluster-nodes.js";
import { DEFAULT_PIPELINE_FILE } from "./pipeline.js";

/** Environment variables Switchboard reads, with their defaults. */
const SettingsSchema = z.object({
  /** Redis to use; when unset, one on 127.0.0.1:6379 or a spawned `redis-server`. */
  REDIS_URL: z
    .url({
      protocol: /^rediss?$/,
      error: "expected a redis:// or rediss:// URL, such as redis://127.0.0.1:6379",
    })
    .optional(),
  /** A Redis Cluster to use instead, `host:port,host:port` (some or all of its nodes; URL items give user, password, TLS). */
  REDIS_CLUSTER_NODES: z
    .string()
    .transform((value, ctx) => {
      try {
        return parseClusterNodes(value);
      } catch (error) {
        ctx.addIssue({ code: "custom", message: (error as Error).message });
        return z.NEVER;
      }
    })
    .optional(),
  /** Prefix of every Redis key, so several deployments can share one Redis. */
  SWITCHBOARD_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,32}$/, "expected 1-32 letters, digits, '_' or '-', such as `sb`")
    .default("sb"),
  /** The pipeline file. */
  SWITCHBOARD_PIPELINE: z.string().min(1).default(DEFAULT_PIPELINE_FILE),
  SWITCHBOARD_LOG_LEVEL: z
    .enum(["debug", "info", "warn", "error"], { error: "expected one of debug, info, warn, error" })
    .default("info"),
});

export type Settings = Readonly<z.infer<typeof SettingsSchema>>;

/** Reads the settings once from the environment; a wrong value names the variable. */
export function readSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const result = SettingsSchema.safeParse({
    REDIS_URL: env.REDIS_URL || undefined,
    REDIS_CLUSTER_NODES: env.REDIS_CLUSTER_NODES || undefined,
    SWITCHBOARD_PREFIX: env.SWITCHBOARD_PREFIX || undefined,
    SWITCHBOARD_PIPELINE: env.SWITCHBOARD_PIPELINE || undefined,
    SWITCHBOARD_LOG_LEVEL: env.SWITCHBOARD_LOG_LEVEL || undefined,
  });
  if (!result.success) {
    throw new SwitchboardError(
      "CONFIG",
      `environment: ${describeIssues(result.error).replaceAll("field", "variable")}`,
      {
        field: firstIssuePath(result.error),
      },
    );
  }
  if (result.data.REDIS_URL !== undefined && result.data.REDIS_CLUSTER_NODES !== undefined) {
    throw new SwitchboardError(
      "CONFIG",
      "environment: variable `REDIS_CLUSTER_NODES`: REDIS_URL (--redis-url) is given too; " +
        "give REDIS_URL for one Redis or REDIS_CLUSTER_NODES for a Redis Cluster, not both",
      { field: "REDIS_CLUSTER_NODES" },
    );
  }
  return Object.freeze(result.data);
}
