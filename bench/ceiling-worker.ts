/**
 * The bare ceiling: moves entries through the same four stage streams with nothing but
 * XREADGROUP → XADD (same fields, to the next stream) → XACK, one Redis batch per read. No
 * decoding, no Lua, no handler work. The last stage appends to a recipient's inbox,
 * chosen from the bytes of the message id (without decoding the envelope).
 *
 * Environment: REDIS_URL, SWITCHBOARD_PREFIX, BENCH_AGENTS (inboxes `agent-0..N-1`).
 * The consumer groups must exist. Runs until SIGTERM.
 */
import { hostname } from "node:os";
import { Redis } from "ioredis";
import { loadPipeline, STAGE_NAMES, type StageDefinition } from "../src/config/pipeline.js";
import { Keys } from "../src/redis/keys.js";
import "../src/redis/buffer-commands.js";

const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const keys = new Keys(process.env.SWITCHBOARD_PREFIX ?? "bench");
const agents = Number(process.env.BENCH_AGENTS ?? 100);
const pipeline = loadPipeline(process.env.SWITCHBOARD_PIPELINE || undefined);
const inboxes = Array.from({ length: agents }, (_, i) => keys.inbox(`agent-${i}`));
let stopping = false;

/** The inbox of an entry, from the last two bytes of its `mid` field. */
function inboxOf(fields: readonly Buffer[]): string {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!;
    if (name.length === 3 && name.toString("latin1") === "mid") {
      const mid = fields[i + 1]!;
      return inboxes[((mid[mid.length - 1] ?? 0) * 256 + (mid[mid.length - 2] ?? 0)) % agents]!;
    }
  }
  return inboxes[0]!;
}

async function loop(stage: StageDefinition, consumer: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: null, connectionName: consumer });
  const stream = keys.stream(stage.stream);
  const next =
    stage.next === undefined ? undefined : keys.stream(pipeline.stages[stage.next].stream);
  while (!stopping) {
    const reply = await redis.xreadgroupBuffer(
      "GROUP",
      stage.group,
      consumer,
      "COUNT",
      stage.batchSize,
      "BLOCK",
      stage.blockMs,
      "STREAMS",
      stream,
      ">",
    );
    const entries = (reply?.[0]?.[1] ?? []) as [Buffer, Buffer[]][];
    if (entries.length === 0) continue;
    const batch = redis.pipeline();
    const ids: Buffer[] = [];
    for (const [id, fields] of entries) {
      batch.xadd(next ?? inboxOf(fields), "*", ...fields);
      ids.push(id);
    }
    batch.xack(stream, stage.group, ...ids);
    for (const [error] of (await batch.exec()) ?? []) if (error) throw error;
  }
  redis.disconnect();
}

process.on("SIGTERM", () => {
  stopping = true;
  // Nothing is in flight once the benchmark stops us: every message has arrived.
  process.exit(0);
});

const base = `${hostname()}-${process.pid}-bare`;
const loops = STAGE_NAMES.flatMap((name) => {
  const stage = pipeline.stages[name];
  return Array.from({ length: stage.concurrency }, (_, i) => loop(stage, `${base}-${name}-${i}`));
});
try {
  await Promise.all(loops);
} catch (error) {
  process.stderr.write(`ceiling worker failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
}
