import { request, type ClientRequest } from "node:http";
import { rm } from "node:fs/promises";
import { dirname } from "node:path";
import type { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { Keys } from "../../src/redis/keys.js";
import { cliEnv, killAll } from "../support/cli.js";
import { eventually } from "../support/harness.js";
import {
  call,
  closeClients,
  joinAs,
  startServe,
  writePipeline,
  type Fetched,
} from "../support/mcp.js";
import { connect, deleteByPrefix, testPrefix } from "../support/redis.js";

/**
 * `switchboard serve` on SIGTERM drains rather than cutting connections: long polls in
 * progress are answered (empty), `/readyz` and new MCP requests get 503 saying it is
 * shutting down, and the process exits 0 within `--shutdown-timeout-ms`.
 */

let redis: Redis | undefined;
let slow: ClientRequest | undefined;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  slow?.destroy();
  await closeClients();
  killAll();
  for (const cleanup of cleanups.splice(0)) await cleanup();
  await redis?.quit();
});

/** A POST to /mcp whose body never ends: a request under way that holds the drain open. */
async function stalledRequest(url: URL): Promise<ClientRequest> {
  const req = request(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "content-length": "1000",
    },
  });
  req.on("error", () => undefined); // cut when the drain ends
  await new Promise<void>((resolve) => req.write("{", () => resolve()));
  return req;
}

describe("serve on SIGTERM", () => {
  it("answers a fetch_inbox long poll with what it has, refuses new work with 503, exits 0", async () => {
    const prefix = testPrefix();
    const pipeline = await writePipeline();
    redis = await connect();
    cleanups.push(async () => {
      await deleteByPrefix(redis!, prefix);
      await rm(dirname(pipeline), { recursive: true, force: true });
    });
    const keys = new Keys(prefix);
    const serve = await startServe(cliEnv(prefix, pipeline), ["--shutdown-timeout-ms", "12000"]);
    const agents = [
      await joinAs(serve.url, "waiter", "modern"),
      await joinAs(serve.url, "sitter", "legacy"),
    ];
    slow = await stalledRequest(serve.url);

    // Each call touches its agent when it starts: a score of 1 moving on means it is under way.
    for (const { name } of agents) await redis.zadd(keys.directory(), "XX", 1, name);
    const polls = agents.map(({ client }) =>
      call<Fetched>(client, "fetch_inbox", { wait_seconds: 30 }),
    );
    for (const { name } of agents) {
      await eventually(async () => Number(await redis!.zscore(keys.directory(), name)) > 1);
    }

    const exited = serve.stop("SIGTERM");
    const answered = await Promise.all(polls);
    expect(answered.map((f) => [f.messages, f.count])).toEqual([
      [[], 0],
      [[], 0],
    ]);

    // Still draining (the stalled request is under way): unready, and no new work.
    const ready = await fetch(new URL("/readyz", serve.url));
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({
      ready: false,
      problems: ["shutting down: this front end takes no new requests"],
      status: null,
    });
    const refused = await fetch(serve.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({
      jsonrpc: "2.0",
      error: {
        code: -32000,
        message: expect.stringMatching(/^shutting down: .*retry on another instance$/),
      },
    });
    expect((await fetch(new URL("/healthz", serve.url))).status).toBe(200);

    // The stalled request is cut when the front end's share of the timeout ends.
    const result = await exited;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain("requests still under way after the drain");
  }, 60_000);
});
