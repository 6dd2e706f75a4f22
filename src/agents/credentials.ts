import { createHash } from "node:crypto";
import { chmod, mkdir, readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { dataDir } from "../config/data-dir.js";
import { isTemporaryFile, readIfExists, writeFileAtomically } from "../config/files.js";
import { AgentNameSchema } from "../protocol/envelope.js";
import { SwitchboardError } from "../protocol/errors.js";
import type { ProvisionedRedis } from "../redis/provision.js";

/**
 * Where the token of a `switchboard stdio` agent is kept on this machine, so that the next
 * start is the same agent: one file per Redis, key prefix and agent name, in
 * `credentials/` of the data directory (mode 0700), each file mode 0600. A file is
 * replaced whole (a temp file renamed over it), so a reader never sees half of one.
 */

/** A temp file this old is left over from a process killed while saving, and is removed. */
const STALE_TEMP_MS = 60_000;

const CredentialsRecordSchema = z.object({
  agent: z.string(),
  token: z.string().min(1),
  /** The Redis, without user or password: `host:port/db`, or the data dir of a spawned one. */
  redis: z.string(),
  prefix: z.string(),
  saved_at: z.string(),
});

export type CredentialsRecord = z.infer<typeof CredentialsRecordSchema>;

/** Which Redis a process uses, as the runtime found it. */
export interface CredentialsScope {
  url: string;
  /** `spawned` and `reused`: the Redis the CLI starts, whose port changes from run to run. */
  source: ProvisionedRedis["source"];
  prefix: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Names the Redis without its credentials: `host:port/db` (defaults filled in), or, for
 * the Redis the CLI spawns on a new port each run, the data dir it keeps its files in.
 */
export function redisLocation(scope: CredentialsScope): string {
  if (scope.source === "spawned" || scope.source === "reused") {
    return `switchboard's own redis in ${join(dataDir(scope.env), "redis")}`;
  }
  try {
    const url = new URL(scope.url);
    const db = /^\/(\d+)$/.exec(url.pathname)?.[1] ?? "0";
    return `${url.hostname.toLowerCase()}:${url.port === "" ? "6379" : url.port}/${db}`;
  } catch {
    // Not a URL we can take apart: its hash, so no password lands in a file name or body.
    return `redis ${createHash("sha256").update(scope.url).digest("hex").slice(0, 16)}`;
  }
}

/** The credentials file of one agent on one Redis and prefix. */
export class CredentialsFile {
  readonly dir: string;
  readonly path: string;
  readonly #agent: string;
  readonly #redis: string;
  readonly #prefix: string;

  /** Refuses a name that is not an agent name, so that it cannot lead out of the directory. */
  constructor(scope: CredentialsScope, agent: string) {
    const name = AgentNameSchema.safeParse(agent);
    if (!name.success) {
      throw new SwitchboardError(
        "INVALID_INPUT",
        `'${agent}' is not an agent name: ${name.error.issues[0]?.message ?? "invalid"}`,
        { field: "--agent" },
      );
    }
    this.#agent = agent;
    this.#redis = redisLocation(scope);
    this.#prefix = scope.prefix;
    this.dir = join(dataDir(scope.env), "credentials");
    const key = createHash("sha256")
      .update(`${this.#redis}\n${this.#prefix}`)
      .digest("hex")
      .slice(0, 16);
    this.path = join(this.dir, `${agent}.${key}.json`);
  }

  /** The token kept for the agent, if any; a file that is not ours reads as none. */
  async read(): Promise<string | undefined> {
    const text = await readIfExists(this.path).catch((error: unknown) => {
      throw this.#cannot("read", error);
    });
    if (text === undefined) return undefined;
    try {
      const record = CredentialsRecordSchema.parse(JSON.parse(text));
      return record.agent === this.#agent ? record.token : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Makes the directory (0700), or fails with how to fix it: called before registering, so
   * that a token is never made that cannot be kept.
   */
  async prepare(): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      await chmod(this.dir, 0o700);
    } catch (error) {
      throw this.#cannot("create the directory of", error);
    }
  }

  /** Keeps the token: the file (0600) replaced whole, see {@link writeFileAtomically}. */
  async save(token: string): Promise<void> {
    await this.prepare();
    const record: CredentialsRecord = {
      agent: this.#agent,
      token,
      redis: this.#redis,
      prefix: this.#prefix,
      saved_at: new Date().toISOString(),
    };
    try {
      await writeFileAtomically(this.path, `${JSON.stringify(record, null, 2)}\n`, 0o600);
    } catch (error) {
      throw this.#cannot("write", error);
    }
    await removeStaleTemps(this.dir);
  }

  #cannot(what: string, error: unknown): SwitchboardError {
    const reason = error instanceof Error ? error.message : String(error);
    return new SwitchboardError(
      "CONFIG",
      `cannot ${what} the credentials file ${this.path} (${reason}); make ${this.dir} writable, ` +
        "point SWITCHBOARD_DATA_DIR at a directory that is, or set SWITCHBOARD_TOKEN",
      { cause: error },
    );
  }
}

/** Removes temp files left by processes killed while saving. */
async function removeStaleTemps(dir: string): Promise<void> {
  const cutoff = Date.now() - STALE_TEMP_MS;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!isTemporaryFile(name)) continue;
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (info !== undefined && info.mtimeMs < cutoff) await rm(path, { force: true });
  }
}
