import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { cliEnv, killAll, ROOT, type ListeningProcess } from "../support/cli.js";
import { eventually } from "../support/harness.js";
import {
  call,
  closeClients,
  connectLegacy,
  connectModern,
  joinAs,
  startServe,
  writePipeline,
  type Agent,
  type Credentials,
  type Fetched,
  type McpClient,
} from "../support/mcp.js";
import { startWorker } from "../support/metrics.js";
import { startProxy, type FrontEndProxy } from "../support/proxy.js";
import { connect, deleteByPrefix, testPrefix } from "../support/redis.js";
import { freePort, startProgram, which, type Program } from "../support/stack.js";

/**
 * Three `serve --no-workers` front ends and one `worker` on one Redis and prefix, behind
 * a load balancer (test/support/proxy.ts): agents are served by any front end, by token;
 * `resources/updated` crosses processes; 2025-11-25 sessions need sticky routing.
 */
let redis: Redis;
let prefix: string;
let pipeline: string;
let frontEnds: ListeningProcess[] = [];
let worker: ListeningProcess | undefined;
const proxies: FrontEndProxy[] = [];

beforeAll(async () => {
  prefix = testPrefix();
  pipeline = await writePipeline();
  const env = cliEnv(prefix, pipeline);
  redis = await connect();
  frontEnds = await Promise.all([0, 1, 2].map(() => startServe(env, ["--no-workers"])));
  worker = await startWorker(env);
}, 60_000);

afterEach(async () => {
  await closeClients();
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
});

afterAll(async () => {
  const started = worker === undefined ? frontEnds : [...frontEnds, worker];
  await Promise.allSettled(started.map((child) => child.stop()));
  killAll();
  await deleteByPrefix(redis, prefix);
  await redis.quit();
  await rm(dirname(pipeline), { recursive: true, force: true });
});

async function proxy(sticky = false): Promise<FrontEndProxy> {
  const started = await startProxy(
    frontEnds.map((frontEnd) => frontEnd.url),
    { sticky },
  );
  proxies.push(started);
  return started;
}

const inbox = (agent: string) => `switchboard://inbox/${agent}`;

/** Waits until `agent`'s inbox holds `count` messages, fetches and acks them; their bodies. */
async function takeMail(agent: McpClient, count: number): Promise<string[]> {
  const fetched: Fetched["messages"] = [];
  await eventually(async () => {
    fetched.push(...(await call<Fetched>(agent, "fetch_inbox")).messages);
    return fetched.length >= count;
  });
  const ids = fetched.map((message) => message.message_id);
  const acked = await call<{ acked: string[] }>(agent, "ack_messages", { message_ids: ids });
  expect(acked.acked.sort()).toEqual([...ids].sort());
  return fetched.map((message) => String(message.body));
}

describe("three front ends behind one address", () => {
  it("serves an agent on any front end by its token", async () => {
    const roundRobin = await proxy();
    const ada: Agent = await joinAs(roundRobin.url, "ada", "modern");
    const ben: Agent = await joinAs(roundRobin.url, "ben", "modern");
    const registered = [...roundRobin.hits];
    for (const body of ["one", "two", "three"]) {
      await call(ada.client, "send_message", { to: ["ben"], body });
    }
    expect((await takeMail(ben.client, 3)).sort()).toEqual(["one", "three", "two"]);
    // The calls made with the tokens (send, fetch, ack): every front end served some.
    const served = roundRobin.hits.map((hits, index) => hits - registered[index]!);
    expect(served.every((hits) => hits >= 1)).toBe(true);

    // New 2025-11-25 sessions with ben's token, each opened on the next front end.
    const sticky = await proxy(true);
    for (const body of ["four", "five", "six"]) {
      const session = await connectLegacy(sticky.url, ben.token);
      await call(session, "send_message", { to: ["ada"], body });
    }
    expect([...sticky.sessions.values()].sort()).toEqual([0, 1, 2]);
    expect((await takeMail(ada.client, 3)).sort()).toEqual(["five", "four", "six"]);
  });

  it("announces new mail to subscribers on every front end, whichever one took it", async () => {
    const [a, b, c] = frontEnds.map((frontEnd) => frontEnd.url);
    const cy = await connectLegacy(a!);
    await call(cy, "register_agent", { name: "cy" });
    const seen: string[] = [];
    cy.setNotificationHandler("notifications/resources/updated", (n) => {
      seen.push(n.params.uri);
    });
    await cy.subscribeResource({ uri: inbox("cy") });

    const sender = await joinAs(b!, "dee", "modern");
    await call(sender.client, "send_message", { to: ["cy"], body: "through b" });
    await eventually(() => Promise.resolve(seen.length === 1));

    const viaC = await connectModern(c!, { token: sender.token });
    await call(viaC, "send_message", { to: ["cy"], body: "through c" });
    await eventually(() => Promise.resolve(seen.length === 2));
    expect(seen).toEqual([inbox("cy"), inbox("cy")]);
    expect((await takeMail(cy, 2)).sort()).toEqual(["through b", "through c"]);

    // A stateless listener, wherever the load balancer put its stream, hears mail taken by a.
    const halAuth: Credentials = {};
    const hal = await connectModern((await proxy()).url, halAuth);
    halAuth.token = (await call<{ token: string }>(hal, "register_agent", { name: "hal" })).token;
    const heard: string[] = [];
    hal.setNotificationHandler("notifications/resources/updated", (n) => {
      heard.push(n.params.uri);
    });
    const listening = await hal.listen({
      resourceSubscriptions: [inbox("hal")],
    });
    await call(cy, "send_message", { to: ["hal"], body: "through a" });
    await eventually(() => Promise.resolve(heard.length === 1));
    expect(heard).toEqual([inbox("hal")]);
    await listening.close();
  });

  it("keeps 2025-11-25 sessions working with sticky routing, and not without", async () => {
    const sticky = await proxy(true);
    const sessions = await Promise.all(
      ["eve", "fay", "gus"].map(async (name) => {
        const client = await connectLegacy(sticky.url);
        await call(client, "register_agent", { name });
        return client;
      }),
    );
    expect([...sticky.sessions.values()].sort()).toEqual([0, 1, 2]);
    const [eve, fay, gus] = sessions;
    await call(eve!, "send_message", { to: ["fay", "gus"], body: "hello" });
    expect(await takeMail(fay!, 1)).toEqual(["hello"]);
    expect(await takeMail(gus!, 1)).toEqual(["hello"]);

    // Round robin sends the session's second request to another front end: it has no such session.
    const roundRobin = await proxy();
    const error = await connectLegacy(roundRobin.url).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toMatchObject({
      name: "SdkHttpError",
      status: 404,
      message: expect.stringMatching(/Error POSTing to endpoint: .*"Session not found"/),
    });
  });
});

/** The HAProxy configuration of docs/scaling.md, listening on `port`, with these front ends. */
function documentedHaproxy(port: number, sticky: boolean): string {
  const doc = readFileSync(join(ROOT, "docs", "scaling.md"), "utf8");
  const block = /```haproxy\n([\s\S]*?)```/.exec(doc)?.[1];
  if (block === undefined) throw new Error("docs/scaling.md has no ```haproxy block");
  const servers = frontEnds.map(({ url }, index) => `    server fe${index} ${url.host} check`);
  const lines = block
    .split("\n")
    .filter((line) => !/^\s+server /.test(line) && (sticky || !/^\s+stick /.test(line)))
    .map((line) => line.replace(/^(\s+)bind .*/, `$1bind 127.0.0.1:${port}`));
  return [...lines, ...servers, ""].join("\n");
}

async function startHaproxy(
  bin: string,
  sticky: boolean,
): Promise<{ url: URL; stop(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "switchboard-haproxy-"));
  const file = join(dir, "haproxy.cfg");
  const port = await freePort();
  await writeFile(file, documentedHaproxy(port, sticky));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  const program: Program = await startProgram(bin, ["-db", "-f", file], port, "/healthz", cleanup);
  return { url: new URL(`${program.origin}/mcp`), stop: () => program.stop() };
}

/** Debian puts haproxy in /usr/sbin, which is not on every user's PATH. */
const haproxyBin =
  which("haproxy") ?? (existsSync("/usr/sbin/haproxy") ? "/usr/sbin/haproxy" : undefined);

describe.skipIf(haproxyBin === undefined)(
  "behind HAProxy set up as docs/scaling.md shows (skipped when haproxy is not on PATH: .ci/run installs Debian's haproxy package)",
  () => {
    it("keeps each session on the front end that opened it, and fails without the stick table", async () => {
      const plain = await startHaproxy(haproxyBin!, false);
      try {
        await expect(connectLegacy(plain.url)).rejects.toMatchObject({ status: 404 });
      } finally {
        await plain.stop();
      }
      const sticky = await startHaproxy(haproxyBin!, true);
      try {
        const [ivy, jon, kim] = await Promise.all(
          ["ivy", "jon", "kim"].map(async (name) => {
            const client = await connectLegacy(sticky.url);
            await call(client, "register_agent", { name });
            return client;
          }),
        );
        await call(ivy!, "send_message", { to: ["jon", "kim"], body: "via haproxy" });
        expect(await takeMail(jon!, 1)).toEqual(["via haproxy"]);
        expect(await takeMail(kim!, 1)).toEqual(["via haproxy"]);
        const modern = await joinAs(sticky.url, "lou", "modern");
        await call(modern.client, "send_message", { to: ["ivy"], body: "stateless" });
        expect(await takeMail(ivy!, 1)).toEqual(["stateless"]);
      } finally {
        await closeClients();
        await sticky.stop();
      }
    });
  },
);
