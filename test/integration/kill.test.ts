import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { Registry } from "../../src/agents/registry.js";
import { loadPipeline, STAGE_NAMES } from "../../src/config/pipeline.js";
import { defineScripts } from "../../src/app/scripts.js";
import { Keys } from "../../src/redis/keys.js";
import { cliEnv, finished, killAll, start } from "../support/cli.js";
import { eventually } from "../support/harness.js";
import { connect, deleteByPrefix, testPrefix } from "../support/redis.js";

const MESSAGES = 3000;
const AGENTS = 10;

let dir: string;
let redis: Redis;
const prefix = testPrefix();
const keys = new Keys(prefix);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "switchboard-kill-"));
  redis = defineScripts(await connect());
  const registry = new Registry(redis, keys, loadPipeline());
  for (let i = 0; i < AGENTS; i++) await registry.register({ name: `agent-${i}` });
  await registry.register({ name: "loader" });
});
afterEach(killAll);
afterAll(async () => {
  await deleteByPrefix(redis, prefix);
  await redis.quit();
  await rm(dir, { recursive: true, force: true });
});

/** Pending entries, per stage, held by the consumers of one process. */
async function pendingOf(pid: number): Promise<number> {
  let total = 0;
  for (const stage of STAGE_NAMES) {
    const consumers = (await redis.xpending(keys.stream(stage), stage)) as [
      number,
      string,
      string,
      [string, string][] | null,
    ];
    for (const [name, count] of consumers[3] ?? [])
      if (name.includes(`-${pid}-`)) total += Number(count);
  }
  return total;
}

function ready(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.stderr?.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("worker started")) resolve();
    });
  });
}

it("loses and duplicates nothing when a worker is killed with SIGKILL during a bulk send", async () => {
  const pipelineFile = join(dir, "pipeline.yaml");
  await writeFile(
    pipelineFile,
    "version: 1\ndefaults:\n  batchSize: 20\n  blockMs: 100\n  claimIdleMs: 1000\n  janitorIntervalMs: 300\n",
  );
  const env = cliEnv(prefix, pipelineFile);
  const victim = start(["worker"], env);
  const survivor = start(["worker"], env);
  const victimExit = finished(victim);
  const survivorExit = finished(survivor);
  await Promise.all([ready(victim), ready(survivor)]);

  const file = join(dir, "messages.jsonl");
  const lines = Array.from({ length: MESSAGES }, (_, n) =>
    JSON.stringify({ to: `agent-${n % AGENTS}`, body: { n } }),
  );
  await writeFile(file, `${lines.join("\n")}\n`);
  const sender = finished(start(["send", "--file", file, "--from", "loader"], env));

  // Kill the victim while it holds entries it has read and not yet acknowledged.
  await eventually(async () => (await pendingOf(victim.pid!)) > 0, 20_000);
  victim.kill("SIGKILL");
  expect((await victimExit).signal).toBe("SIGKILL");
  const orphaned = await pendingOf(victim.pid!);

  expect((await sender).code).toBe(0);
  const inboxes = Array.from({ length: AGENTS }, (_, i) => keys.inbox(`agent-${i}`));
  const delivered = async () =>
    (await Promise.all(inboxes.map((key) => redis.xlen(key)))).reduce((a, b) => a + b, 0);
  await eventually(async () => (await delivered()) >= MESSAGES, 60_000);
  await eventually(async () => (await pendingOf(victim.pid!)) === 0, 10_000);

  const deliveredIds: string[] = [];
  for (const key of inboxes) {
    for (const [, fields] of await redis.xrange(key, "-", "+"))
      deliveredIds.push(fields[fields.indexOf("mid") + 1]!);
  }
  expect(orphaned).toBeGreaterThan(0);
  expect(deliveredIds).toHaveLength(MESSAGES); // nothing lost…
  expect(new Set(deliveredIds).size).toBe(MESSAGES); // …and nothing twice

  survivor.kill("SIGTERM");
  expect((await survivorExit).code).toBe(0);
}, 120_000);
