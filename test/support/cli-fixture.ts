import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { connect, deleteByPrefix, testPrefix } from "./redis.js";

/** What a CLI test file works with: a pipeline file, a Redis client and fresh key prefixes. */
export interface CliFixture {
  /** A temp directory for the file's own files, removed after it. */
  dir: string;
  /** The pipeline file written from the YAML given. */
  pipeline: string;
  redis: Redis;
  /** A new key prefix, whose keys are deleted after the file. */
  newPrefix(): string;
}

/** Sets up a {@link CliFixture} before a test file's tests and cleans it up after them. */
export function useCliFixture(pipelineYaml: string): CliFixture {
  const prefixes: string[] = [];
  const fixture = {
    newPrefix(): string {
      const prefix = testPrefix();
      prefixes.push(prefix);
      return prefix;
    },
  } as CliFixture;
  beforeAll(async () => {
    fixture.dir = await mkdtemp(join(tmpdir(), "switchboard-cli-"));
    fixture.pipeline = join(fixture.dir, "pipeline.yaml");
    await writeFile(fixture.pipeline, pipelineYaml);
    fixture.redis = await connect();
  });
  afterAll(async () => {
    for (const prefix of prefixes) await deleteByPrefix(fixture.redis, prefix);
    await fixture.redis.quit();
    await rm(fixture.dir, { recursive: true, force: true });
  });
  return fixture;
}
