/**
 * The webhook receiver of `npm run bench -- --failures`, in a process of its own so that
 * its CPU is measured apart from the benchmark's. Every POST is read to its end, then
 * answered: 503 (no `Retry-After`) to the first POST of a message chosen by `failsFirst`,
 * 204 to every other. It records per message id what it answered and when (wall clock).
 * It does not verify signatures: a receiver's own CPU is not what is measured.
 *
 * Environment: BENCH_RECEIVER_PORT, BENCH_FAIL_PERCENT (0: nothing fails). Until SIGTERM.
 * GET /stats: {delivered, posts}; GET /log: [message id, 503s, 2xx, first 2xx at][].
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { failsFirst, type Received, type ReceiverStats } from "./receiver.js";

const port = Number(process.env.BENCH_RECEIVER_PORT);
const failPercent = Number(process.env.BENCH_FAIL_PERCENT ?? 0);
const received = new Map<string, Received>();
const stats: ReceiverStats = { delivered: 0, posts: 0 };

function answer(messageId: string, response: ServerResponse): void {
  let record = received.get(messageId);
  if (record === undefined) {
    record = { failed: 0, ok: 0, okAt: 0 };
    received.set(messageId, record);
  }
  stats.posts += 1;
  if (record.failed === 0 && record.ok === 0 && failsFirst(messageId, failPercent)) {
    record.failed += 1;
    response.writeHead(503).end();
    return;
  }
  if (record.ok === 0) {
    record.okAt = Date.now();
    stats.delivered += 1;
  }
  record.ok += 1;
  response.writeHead(204).end();
}

function json(response: ServerResponse, value: unknown): void {
  response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(value));
}

const server = createServer(function handle(request: IncomingMessage, response: ServerResponse) {
  if (request.method === "GET" && request.url === "/stats") return json(response, stats);
  if (request.method === "GET" && request.url === "/log") {
    return json(
      response,
      [...received].map(([id, r]) => [id, r.failed, r.ok, r.okAt]),
    );
  }
  const messageId = request.headers["x-switchboard-message-id"];
  request.resume();
  request.on("end", () => {
    if (request.method !== "POST" || typeof messageId !== "string") {
      response.writeHead(400).end();
      return;
    }
    answer(messageId, response);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, "127.0.0.1");
process.on("SIGTERM", () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
