import { rm } from "node:fs/promises";
import { dirname } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliEnv, type ListeningProcess } from "../support/cli.js";
import { eventually } from "../support/harness.js";
import {
  call,
  connectLegacy,
  connectModern,
  fastPipelineWith,
  useServe,
  writePipeline,
  type Credentials,
} from "../support/mcp.js";
import { startWorker } from "../support/metrics.js";
import { exchange, INITIALIZE, openIdle, postMcp, send } from "../support/raw-http.js";

/**
 * Hostile input against a real `serve` and a real `worker --metrics-port`: after each
 * abuse the process is alive and a legitimate caller is still served.
 */
const fixture = useServe({
  yaml: fastPipelineWith({
    limits: { maxBodyBytes: 2048 },
    http: {
      maxBodyBytes: 65_536,
      headersTimeoutMs: 1000,
      requestTimeoutMs: 2000,
      keepAliveTimeoutMs: 3000,
      sessions: { anonymous: { max: 8, perAddress: 3, idleMs: 600_000 } },
    },
  }),
});

const auth: Credentials = {};

beforeAll(async () => {
  const stateless = await connectModern(fixture.serve.url, auth);
  auth.token = (
    await call<{ token: string }>(stateless, "register_agent", { name: "alice" })
  ).token;
});

/** The process is alive, and alice gets a session and a tool call through the SDK's client. */
async function stillServes(): Promise<void> {
  expect(fixture.serve.child.exitCode).toBeNull();
  const client = await connectLegacy(fixture.serve.url, auth.token);
  expect(await call(client, "heartbeat")).toMatchObject({ name: "alice" });
  await client.close();
}

const JSON_TYPES = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
};

/** The JSON-RPC error of an answer. */
function rpcError(text: string): { code: number; message: string } {
  return (JSON.parse(text) as { error: { code: number; message: string } }).error;
}

describe("serve under hostile HTTP", () => {
  it("answers 400 to request targets that are not URLs and to malformed HTTP", async () => {
    const { url } = fixture.serve;
    for (const target of ["//[", "http://[", "//[::1"]) {
      const request = `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`;
      expect(await exchange(url, request)).toMatch(/^HTTP\/1.1 400 .*not a URL/s);
    }
    expect(await exchange(url, "GARBAGE\r\n\r\n")).toMatch(/^HTTP\/1.1 400 Bad Request/);
    expect(await exchange(url, "GET /mcp HTTP/1.1\r\nBad Header\r\n\r\n")).toMatch(
      /^HTTP\/1.1 400/,
    );
    await stillServes();
  });

  it("answers a body that is not JSON with a parse error, once read", async () => {
    const post = (body: string | Buffer) =>
      send(fixture.serve.url, { method: "POST", headers: JSON_TYPES, body });
    for (const body of ["not json", '{"jsonrpc": "2.0", ', "", Buffer.from([0xff, 0xfe, 0x7b])]) {
      const answer = await post(body);
      expect([answer.status, rpcError(answer.text).code], JSON.stringify(body)).toEqual([
        400, -32700,
      ]);
    }
    for (const body of ["null", "42", "[]", '"x"', '{"jsonrpc":"2.0"}']) {
      expect((await post(body)).status, body).toBe(400);
    }
    await stillServes();
  });

  it("answers 415 to a POST that is not application/json, before reading it", async () => {
    const initialize = JSON.stringify(INITIALIZE);
    for (const type of ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data"]) {
      const answer = await send(fixture.serve.url, {
        method: "POST",
        headers: { ...JSON_TYPES, "content-type": type },
        body: type.startsWith("application/x-www") ? "a=b&c=d" : initialize,
      });
      expect([answer.status, rpcError(answer.text).message]).toEqual([
        415,
        "Unsupported Media Type: Content-Type must be application/json",
      ]);
    }
    const untyped = await send(fixture.serve.url, { method: "POST", body: initialize });
    expect(untyped.status).toBe(415);
    await stillServes();
  });

  it("answers 406 to wrong or missing Accept headers, 405 to other methods", async () => {
    const body = JSON.stringify(INITIALIZE);
    for (const accept of [undefined, "text/html", "application/json"]) {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (accept !== undefined) headers.accept = accept;
      const answer = await send(fixture.serve.url, { method: "POST", headers, body });
      expect(answer.status, accept).toBe(406);
    }
    for (const method of ["PUT", "PATCH", "HEAD", "OPTIONS"]) {
      expect((await send(fixture.serve.url, { method })).status, method).toBe(405);
    }
    await stillServes();
  });

  it("answers 413 to a body over http.maxBodyBytes, declared or streamed", async () => {
    const { url } = fixture.serve;
    const head = "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
    const declared = await exchange(url, `${head}Content-Length: 1000000000\r\n\r\n`);
    expect(declared).toMatch(/^HTTP\/1.1 413 /);
    expect(declared).toMatch(/over the limit of 65536 bytes \(http.maxBodyBytes in the pipeline/);
    const chunk = `4000\r\n${"x".repeat(0x4000)}\r\n`;
    const streamed = await exchange(url, [
      `${head}Transfer-Encoding: chunked\r\n\r\n`,
      ...Array.from({ length: 6 }, () => chunk),
    ]);
    expect(streamed).toMatch(/^HTTP\/1.1 413 .*http.maxBodyBytes/s);
    await stillServes();
  });

  it("answers 403 to a foreign Origin and a foreign Host", async () => {
    const body = JSON.stringify(INITIALIZE);
    const foreigns: Record<string, string>[] = [
      { origin: "https://evil.example" },
      { host: "evil.example" },
    ];
    for (const foreign of foreigns) {
      const answer = await send(fixture.serve.url, {
        method: "POST",
        headers: { ...JSON_TYPES, ...foreign },
        body,
      });
      expect(answer.status, JSON.stringify(foreign)).toBe(403);
    }
    await stillServes();
  });

  it("cuts connections held open: half a header, half a body, or nothing at all", async () => {
    const { url } = fixture.serve;
    const halfHeader = await openIdle(url, "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
    const halfBody = await openIdle(
      url,
      "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
        "Content-Length: 100\r\n\r\n{",
    );
    const silent = await openIdle(url);
    // Each resolves once the server closed it: never, without the timeouts.
    expect(await halfHeader.closed).toMatch(/^HTTP\/1.1 408/);
    expect(await halfBody.closed).toMatch(/^(HTTP\/1.1 408|$)/);
    await silent.closed;
    await stillServes();
  });

  it("keeps anonymous sessions to their own budget: an agent always gets one", async () => {
    const { url } = fixture.serve;
    const opened: { session: string; from: string }[] = [];
    const initialize = async (from: string) => {
      const answer = await postMcp(url, INITIALIZE, { from });
      const session = answer.headers["mcp-session-id"];
      if (typeof session === "string") opened.push({ session, from });
      return answer;
    };
    for (let i = 0; i < 3; i++) expect((await initialize("127.0.0.2")).status).toBe(200);
    const perAddress = await initialize("127.0.0.2");
    expect([perAddress.status, rpcError(perAddress.text).message]).toEqual([
      429,
      expect.stringMatching(/from 127.0.0.2 \(http.sessions.anonymous.perAddress = 3\)/),
    ]);
    for (let i = 0; i < 3; i++) expect((await initialize("127.0.0.3")).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await initialize("127.0.0.4")).status).toBe(200);
    const full = await initialize("127.0.0.4");
    expect([full.status, rpcError(full.text).message]).toEqual([
      503,
      expect.stringMatching(/http.sessions.anonymous.max = 8.*present your token/),
    ]);
    await expect(connectLegacy(url)).rejects.toThrow(/503|Too many sessions/);
    await stillServes();
    // Closing sessions gives their places back.
    for (const { session, from } of opened) {
      const closed = await send(url, {
        method: "DELETE",
        headers: { "mcp-session-id": session, "mcp-protocol-version": "2025-11-25" },
        from,
      });
      expect(closed.status).toBe(200);
    }
    const again = await initialize("127.0.0.4");
    expect(again.status).toBe(200);
    await send(url, { method: "DELETE", headers: { "mcp-session-id": opened.at(-1)!.session } });
  });

  it("moves a session that registers to the agents' budget", async () => {
    const { url } = fixture.serve;
    const from = "127.0.0.5";
    const sessions: string[] = [];
    for (let i = 0; i < 3; i++) {
      sessions.push(String((await postMcp(url, INITIALIZE, { from })).headers["mcp-session-id"]));
    }
    expect((await postMcp(url, INITIALIZE, { from })).status).toBe(429);
    const session = sessions[0]!;
    const initialized = { jsonrpc: "2.0", method: "notifications/initialized" };
    expect((await postMcp(url, initialized, { from, session })).status).toBe(202);
    const register = {
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: { name: "register_agent", arguments: { name: "mallory" } },
    };
    const registered = await postMcp(url, register, { from, session });
    expect(registered.text).toContain("sbt_");
    expect((await postMcp(url, INITIALIZE, { from })).status).toBe(200);
  });
});

describe("worker --metrics-port under hostile HTTP", () => {
  let worker: ListeningProcess;
  let pipeline: string;

  beforeAll(async () => {
    pipeline = await writePipeline(
      fastPipelineWith({
        limits: { maxBodyBytes: 2048 },
        http: {
          maxBodyBytes: 4096,
          maxConnections: 4,
          headersTimeoutMs: 1000,
          requestTimeoutMs: 2000,
        },
      }),
    );
    worker = await startWorker(cliEnv(fixture.prefix, pipeline), ["--stages", "validate"]);
  });

  afterAll(async () => {
    await worker?.stop();
    await rm(dirname(pipeline), { recursive: true, force: true });
  });

  async function workerStillServes(): Promise<void> {
    expect(worker.child.exitCode).toBeNull();
    const health = await send(worker.url, { path: "/healthz" });
    expect([health.status, health.text]).toEqual([200, "ok"]);
  }

  it("answers 400 to a target that is not a URL and to malformed HTTP", async () => {
    const request = "GET //[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    expect(await exchange(worker.url, request)).toMatch(/^HTTP\/1.1 400 .*not a URL/s);
    expect(await exchange(worker.url, "GARBAGE\r\n\r\n")).toMatch(/^HTTP\/1.1 400/);
    await workerStillServes();
  });

  it("cuts a connection that never finishes its headers", async () => {
    const slow = await openIdle(worker.url, "GET /metrics HTTP/1.1\r\nHost: x\r\n");
    expect(await slow.closed).toMatch(/^HTTP\/1.1 408/);
    await workerStillServes();
  });

  it("holds no more connections than http.maxConnections", async () => {
    const request = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    const connections = await Promise.all(Array.from({ length: 8 }, () => openIdle(worker.url)));
    const answers = await Promise.all(
      connections.map(
        ({ socket, closed }) =>
          new Promise<boolean>((resolve) => {
            socket.once("data", () => resolve(true));
            void closed.then(() => resolve(false));
            if (!socket.destroyed) socket.write(request);
          }),
      ),
    );
    for (const { socket } of connections) socket.destroy();
    expect(answers.filter(Boolean).length).toBeGreaterThan(0);
    expect(answers.filter(Boolean).length).toBeLessThanOrEqual(4);
    // Its count drops as it sees them go; until then a new connection may still be dropped.
    await eventually(() => send(worker.url, { path: "/healthz" }).catch(() => undefined));
    await workerStillServes();
  });
});
