import type { TestProject } from "vitest/node";
import { provisionRedis } from "../../src/redis/provision.js";

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/** Finds or starts one Redis for the whole run; tests read its URL with `inject("redisUrl")`. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await provisionRedis({ purpose: "test" });
  project.provide("redisUrl", redis.url);
  return () => redis.stop();
}
