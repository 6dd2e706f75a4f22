import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import slotOf from "cluster-key-slot";
import type { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import {
  registerScript,
  rotateTokenScript,
  setRoleScript,
  setStatusScript,
} from "../../src/agents/scripts.js";
import { defineScripts } from "../../src/app/scripts.js";
import { STAGE_NAMES } from "../../src/config/pipeline.js";
import { replayScript } from "../../src/dlq/replay.js";
import {
  inboxAckScript,
  inboxAppendScript,
  inboxDigestScript,
  inboxSkipTakenScript,
  inboxTakeScript,
} from "../../src/inbox/scripts.js";
import {
  noteHistoryScript,
  notePutScript,
  noteReadScript,
  notesPruneScript,
} from "../../src/notes/scripts.js";
import { takeTokensScript } from "../../src/ingress/send-rate.js";
import {
  acquireResourceLeaseScript,
  changeResourceLeaseScript,
  reapResourceLeasesScript,
} from "../../src/leases/scripts.js";
import { loopCountScript } from "../../src/loops/scripts.js";
import { commitScript } from "../../src/pipeline/commit-script.js";
import { acquireLeaseScript, keepLeaseScript } from "../../src/streams/lease.js";
import { Keys } from "../../src/redis/keys.js";
import { unlockScript } from "../../src/redis/lock.js";
import { Lua, lua, type Script } from "../../src/redis/script.js";
import { breakerScript } from "../../src/webhook/breaker.js";

const SRC = fileURLToPath(new URL("../../src", import.meta.url));

/** The text of every TypeScript file under src/. */
const sources = (): string[] =>
  readdirSync(SRC, { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".ts"))
    .map((name) => readFileSync(join(SRC, name), "utf8"));

/** Keys of partition 3 under a prefix, as a worker of a partitioned pipeline builds them. */
const keys = new Keys("sb", 3);
const hash = (c: string): string => c.repeat(64);

/** The lease scripts' keys, as the lease store gives them. */
const leaseKeys = {
  live: keys.leases(),
  ended: keys.leasesEnded(),
  endedAt: keys.leasesEndedAt(),
  fence: keys.leaseFence(),
};

/** A script's KEYS for one call, encoded the way `run` and `queue` encode them. */
const callOf = <P>(script: Script<P, unknown>, params: P) => ({
  name: script.name,
  keys: script.encode(params).keys.map(String),
});

/** A representative call of every script: the keys its real callers give it. */
const CALLS = [
  callOf(commitScript, {
    stream: keys.stream("route"),
    group: "route",
    indexTtlMs: 1000,
    fence: { lease: keys.owner(), value: "1 worker" },
    entries: [
      { id: "1-0", outputs: [{ stream: keys.stream("deliver"), fields: ["t", "msg"] }] },
      {
        id: "2-0",
        outputs: [
          { stream: keys.stream("dead"), index: keys.deadLettersOf("m1"), fields: ["t", "x"] },
          { stream: keys.stream("persist"), fields: ["t", "status"] },
        ],
      },
    ],
  }),
  callOf(inboxAppendScript, {
    keys,
    agent: "ada",
    messageId: "m1",
    replyTo: "m0",
    markerTtlMs: 1000,
    quota: 10,
    fields: ["mid", "m1"],
  }),
  callOf(inboxAckScript, { keys, agent: "ada", entryIds: ["1-0"] }),
  callOf(inboxTakeScript, { keys, agent: "ada", entryId: "1-0", takenTtlMs: 1000 }),
  callOf(inboxSkipTakenScript, { keys, agent: "ada", entryIds: ["1-0"] }),
  callOf(inboxDigestScript, { keys, agent: "ada" }),
  callOf(registerScript, {
    record: keys.agent("ada"),
    presentedHash: hash("a"),
    newHash: hash("b"),
    now: 1,
    fields: ["name", "ada"],
  }),
  callOf(setStatusScript, { record: keys.agent("ada"), to: "idle" }),
  callOf(setRoleScript, { record: keys.agent("ada"), role: "admin" }),
  callOf(rotateTokenScript, {
    record: keys.agent("ada"),
    oldHash: hash("a"),
    newHash: hash("b"),
  }),
  callOf(breakerScript, {
    breaker: keys.breaker(hash("c")),
    op: "failure",
    now: 1,
    threshold: 3,
    cooldownMs: 1000,
    probeLeaseMs: 1000,
    endpoint: "https://example.com/hook",
  }),
  callOf(replayScript, {
    keys,
    stream: keys.stream("dead"),
    stages: STAGE_NAMES.map((name) => ({ name, stream: keys.stream(name) })),
    ids: ["1-0", "2-0"],
    markerTtlMs: 1000,
    now: 1,
  }),
  callOf(takeTokensScript, { bucket: keys.sendRate("ada"), rate: 1, burst: 2, cost: 1 }),
  callOf(loopCountScript, {
    window: keys.loopWindow({ rule: "pair", agents: ["ada", "bob"] }),
    trip: keys.loopTrip({ rule: "pair", agents: ["ada", "bob"] }),
    member: "m1 ada",
    messages: 30,
    windowMs: 60_000,
    holdMs: 300_000,
    thread: "t1",
  }),
  callOf(unlockScript, { lock: keys.agentWrite("ada"), owner: "me" }),
  callOf(acquireLeaseScript, {
    lease: keys.owner(),
    epoch: keys.ownerEpoch(),
    worker: "w",
    leaseMs: 1000,
  }),
  callOf(keepLeaseScript, { lease: keys.owner(), value: "1 w", ms: 1000 }),
  callOf(acquireResourceLeaseScript, {
    keys: leaseKeys,
    id: "l1",
    holder: "ada",
    ttlMs: 1000,
    exclusive: true,
    reason: "",
    resources: ["src/**"],
  }),
  callOf(changeResourceLeaseScript, { keys: leaseKeys, op: "renew", id: "l1", caller: "ada" }),
  callOf(reapResourceLeasesScript, { keys: leaseKeys, retentionMs: 1000 }),
  callOf(notePutScript, {
    keys,
    key: "plans/auth",
    author: "ada",
    content: "x",
    expectedVersion: 1,
    ttlMs: 1000,
    keep: 50,
  }),
  callOf(noteReadScript, { keys, key: "plans/auth" }),
  callOf(noteHistoryScript, { keys, key: "plans/auth", keep: 50 }),
  callOf(notesPruneScript, { keys, stale: [["plans/auth", "1"]] }),
];

/** The names of every script defineScripts defines. */
function definedNames(): string[] {
  const defined: string[] = [];
  defineScripts({ defineCommand: (name: string) => defined.push(name) } as unknown as Redis);
  return defined;
}

describe("Lua scripts", () => {
  it("are all defined on a connection by defineScripts, each once", () => {
    const written = sources().flatMap((text) =>
      [...text.matchAll(/new Script<[\s\S]*?>\(\s*"(\w+)"/g)].map((m) => m[1]!),
    );
    const defined = definedNames();
    expect(defined.sort()).toEqual(written.sort());
    expect(new Set(defined).size).toBe(defined.length);
  });

  it("quote interpolated names as Lua strings and put interpolated Lua in as code", () => {
    const helper = lua`local x = 1`;
    expect(lua`${helper}\nreturn redis.call('HGET', KEYS[1], ${"last_seen"})`.source).toBe(
      "local x = 1\nreturn redis.call('HGET', KEYS[1], 'last_seen')",
    );
    expect(lua`return ${"o."}`).toEqual(new Lua("return 'o.'"));
  });

  it("refuse a name that would not stay a Lua string", () => {
    for (const name of ["it's", "a\\b", "line\nbreak", "é"]) {
      expect(() => lua`return ${name}`).toThrow(/cannot quote/);
    }
  });

  it("each touch keys of one hash slot, so they run on a Redis Cluster", () => {
    expect(CALLS.map((c) => c.name).sort()).toEqual(definedNames().sort());
    const spanning = CALLS.filter((c) => new Set(c.keys.map((key) => slotOf(key))).size !== 1);
    expect(spanning.map((c) => `${c.name}: ${c.keys.join(", ")}`)).toEqual([]);
  });
});
