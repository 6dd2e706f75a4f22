import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startCluster, type LocalCluster } from "../../src/redis/spawn-cluster.js";
import { cliEnv, killAll, run } from "../support/cli.js";
import { eventually } from "../support/harness.js";
import {
  call,
  callRaw,
  closeClients,
  joinAs,
  startServe,
  textOf,
  writePipeline,
  type ServeProcess,
} from "../support/mcp.js";
import { casRounds, expectHistory, expectNoteNotice } from "../support/notes.js";
import { testPrefix } from "../support/redis.js";

/**
 * Shared notes on a real Redis Cluster (three masters, three replicas), through
 * `switchboard serve` and real MCP clients: each note's keys in its own slot, the notes
 * directory in `{dir}`, on whichever masters those are.
 */
let cluster: LocalCluster;
let serve: ServeProcess;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  cluster = await startCluster();
  env = { ...cliEnv(testPrefix(), await writePipeline()) };
  delete env.REDIS_URL;
  env.REDIS_CLUSTER_NODES = cluster.nodes.slice(0, 2).join(",");
  serve = await startServe(env);
}, 90_000);

afterEach(closeClients);

afterAll(async () => {
  await closeClients();
  await serve?.stop();
  killAll();
  await cluster?.stop();
});

describe("shared notes on a Redis Cluster", () => {
  it("lets exactly one of several concurrent writers win each round", async () => {
    const writers = await Promise.all(
      ["c-ann", "c-ben", "c-cat", "c-dan"].map((name, i) =>
        joinAs(serve.url, name, i % 2 === 0 ? "legacy" : "modern"),
      ),
    );
    const winners = await casRounds(writers, "contracts/api", 5);
    await expectHistory(writers[1]!.client, "contracts/api", [writers[0]!.name, ...winners]);
  });

  it("lists notes whose keys are in many slots, and drops expired ones", async () => {
    const ada = await joinAs(serve.url, "l-ada", "legacy");
    const keys = Array.from({ length: 12 }, (_, i) => `spread/n${String(i).padStart(2, "0")}`);
    for (const key of keys) await call(ada.client, "put_note", { key, content: key });
    await call(ada.client, "put_note", { key: "spread/short", content: "x", ttl_seconds: 1 });
    const listed = await call<{ notes: { key: string; version: number }[] }>(
      ada.client,
      "list_notes",
      { prefix: "spread/" },
    );
    expect(listed.notes.map((n) => n.key)).toEqual([...keys, "spread/short"]);
    // Once the short-lived note expires, listing leaves it out.
    await eventually(async () => {
      const again = await call<{ notes: { key: string }[] }>(ada.client, "list_notes", {
        prefix: "spread/",
      });
      return !again.notes.some((n) => n.key === "spread/short");
    });
    const refused = await callRaw(ada.client, "get_note", { key: "spread/short" });
    expect(textOf(refused)).toMatch(/^NOT_FOUND: no note/);
    const cli = await run(["notes", "list", "spread/", "--json"], env);
    expect(cli.stderr).toBe("");
    expect((JSON.parse(cli.stdout) as { notes: unknown[] }).notes).toHaveLength(keys.length);
  }, 30_000);

  it("tells subscribers of switchboard.notes about each change", async () => {
    const [ada, sub] = await Promise.all([
      joinAs(serve.url, "s-ada", "legacy"),
      joinAs(serve.url, "s-sub", "modern"),
    ]);
    await expectNoteNotice(sub.client, ada, "plans/cluster");
  });
});
