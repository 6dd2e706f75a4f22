import { z } from "zod";
import { describeIssues, firstIssuePath } from "../protocol/issues.js";
import { SwitchboardError } from "../protocol/errors.js";
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
  return Object.freeze(result.data);
}
