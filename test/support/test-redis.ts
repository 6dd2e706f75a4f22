import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { logUsing, redisFromEnv, type ProvisionedRedis } from "../../src/redis/provision.js";
import { spawnRedisServer } from "../../src/redis/spawn.js";

/**
 * The Redis of a test run: REDIS_URL → a Testcontainers container (only when a Docker
 * engine answers) → a throw-away `redis-server` (no persistence, temporary dir). Never the
 * Redis on 6379, which may be someone's. Testcontainers is a devDependency, so this order
 * lives here and not in src/redis/provision.ts, which the CLI ships with.
 */
export interface TestRedis extends Omit<ProvisionedRedis, "source"> {
  source: "env" | "container" | "spawned";
}

const CONTAINER_IMAGE = "redis:7-alpine";

export async function provisionTestRedis(
  options: { env?: NodeJS.ProcessEnv; log?: (line: string) => void } = {},
): Promise<TestRedis> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const redis =
    (await redisFromEnv(env)) ?? (await startContainer(env, log)) ?? (await spawnThrowAway());
  logUsing(redis, log);
  return redis;
}

/** A container where a Docker engine answers; else, or when Testcontainers fails (said), none. */
async function startContainer(
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<TestRedis | undefined> {
  if (!(await dockerAnswers(env))) return undefined;
  try {
    const { RedisContainer } = await import("@testcontainers/redis");
    const container = await new RedisContainer(CONTAINER_IMAGE).start();
    return {
      url: container.getConnectionUrl(),
      source: "container",
      how: `Testcontainers ${CONTAINER_IMAGE}`,
      stop: async () => void (await container.stop()),
    };
  } catch (error) {
    log(`redis: Testcontainers failed (${(error as Error).message}); spawning redis-server`);
    return undefined;
  }
}

/** Cheap check first (no socket, no DOCKER_HOST → no engine), then ask the engine itself. */
async function dockerAnswers(env: NodeJS.ProcessEnv): Promise<boolean> {
  if (!env.DOCKER_HOST && !existsSync("/var/run/docker.sock")) return false;
  try {
    const { getContainerRuntimeClient } = await import("testcontainers");
    const answered = getContainerRuntimeClient().then(() => "answered" as const);
    const timedOut = delay(5000, "timed out" as const, { ref: false });
    return (await Promise.race([answered, timedOut])) === "answered";
  } catch {
    return false;
  }
}

async function spawnThrowAway(): Promise<TestRedis> {
  const dir = await mkdtemp(join(tmpdir(), "switchboard-redis-"));
  const spawned = await spawnRedisServer({
    dir,
    persistent: false,
    tried: "REDIS_URL is not set, no Docker engine answered,",
  }).catch(async (error: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw error;
  });
  return {
    url: spawned.url,
    source: "spawned",
    how: `started redis-server pid ${spawned.pid}, no persistence, in ${dir}`,
    async stop() {
      await spawned.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
