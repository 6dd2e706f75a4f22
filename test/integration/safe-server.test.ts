import type { Server } from "node:http";
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createSafeServer, listen, type Route } from "../../src/http/safe-server.js";
import { createLogger } from "../../src/telemetry/log.js";

/** The shared wrapper of `serve` and `worker --metrics-port`, on a real socket. */
const LIMITS = {
  maxConnections: 100,
  headersTimeoutMs: 500,
  requestTimeoutMs: 1000,
  keepAliveTimeoutMs: 500,
};

let server: Server | undefined;
const lines: string[] = [];

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
  lines.length = 0;
});

async function serve(route: Route): Promise<URL> {
  const log = createLogger("debug", {}, (line) => lines.push(line));
  server = createSafeServer(route, { limits: LIMITS, log });
  return new URL(await listen(server, 0, "127.0.0.1"));
}

/** Writes `raw` on a new connection; resolves to all it read once the server closed it. */
function exchange(url: URL, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.write(raw));
    let read = "";
    socket.on("data", (chunk: Buffer) => (read += chunk.toString("latin1")));
    socket.on("close", () => resolve(read));
    socket.on("error", reject);
  });
}

describe("safe HTTP server", () => {
  it("answers 500 for a handler that throws or rejects, and keeps serving", async () => {
    const url = await serve(function route(_req, res, path) {
      if (path === "/throws") throw new Error("boom");
      if (path === "/rejects") return Promise.reject(new Error("later boom"));
      res.end("fine");
      return undefined;
    });
    expect((await fetch(new URL("/throws", url))).status).toBe(500);
    expect((await fetch(new URL("/rejects", url))).status).toBe(500);
    expect(await (await fetch(new URL("/ok", url))).text()).toBe("fine");
    expect(lines.filter((l) => l.includes("http request failed"))).toHaveLength(2);
  });

  it("cuts a response already begun when its handler fails", async () => {
    const url = await serve(function route(_req, res) {
      res.writeHead(200).write("partial");
      throw new Error("mid-stream");
    });
    const read = await exchange(url, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    // Closed, with no 500 after the headers and no end of body: the client sees it failed.
    expect(read).not.toMatch(/500|\r\n0\r\n\r\n$/);
  });

  it("answers 400 to a target that is not a URL and to malformed HTTP, closing the socket", async () => {
    const url = await serve((_req, res) => void res.end("fine"));
    expect(await exchange(url, "GET //[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).toMatch(
      /^HTTP\/1.1 400 .*bad request target/s,
    );
    expect(await exchange(url, "NOT HTTP AT ALL\r\n\r\n")).toMatch(/^HTTP\/1.1 400 Bad Request/);
    expect(await exchange(url, `GET / HTTP/1.1\r\nX: ${"a".repeat(20_000)}\r\n\r\n`)).toMatch(
      /^HTTP\/1.1 431/,
    );
  });

  it("cuts a connection whose headers never finish", async () => {
    const url = await serve((_req, res) => void res.end("fine"));
    // Resolves once the server closed it: never, without the timeout.
    const read = await exchange(url, "GET / HTTP/1.1\r\nHost: x\r\n");
    expect(read).toMatch(/^HTTP\/1.1 408/);
  });
});
