import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_STREAMS } from "../../src/console/events.js";
import { ConsoleKeys } from "../../src/redis/console-keys.js";
import { run } from "../support/cli.js";
import { eventually } from "../support/harness.js";
import {
  call,
  connectModern,
  FAST_PIPELINE_YAML,
  joinAs,
  startServe,
  useServe,
  writePipeline,
} from "../support/mcp.js";
import { send } from "../support/raw-http.js";

/**
 * The web console's server side against a real `serve`: the operator token, login and
 * sessions, CSRF and Origin checks, every JSON route, an overseer's post reaching an
 * agent, the event stream, and the static files (a fixture build in a temp directory).
 */
const dist = mkdtempSync(join(tmpdir(), "sb-console-"));
mkdirSync(join(dist, "assets"));
writeFileSync(join(dist, "index.html"), "<!doctype html><title>console</title>");
writeFileSync(join(dist, "assets", "app-Bx9QzAa1.js"), "console.log('hi');");
writeFileSync(join(dist, "secret.txt"), "not an asset");
afterAll(() => rmSync(dist, { recursive: true, force: true }));

const fixture = useServe({
  args: ["--console-dir", dist, "--trace-url", "http://traces.example/t/{trace_id}"],
});

interface Answer {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
  text: string;
}

interface Session {
  cookie: string;
  csrf: string;
}

async function request(
  path: string,
  options: {
    method?: string;
    body?: unknown;
    session?: Session;
    headers?: Record<string, string>;
  } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.session !== undefined) {
    headers.cookie = options.session.cookie;
    headers["x-csrf-token"] ??= options.session.csrf;
  }
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(new URL(path, fixture.serve.url), {
    method: options.method ?? (options.body === undefined ? "GET" : "POST"),
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON
  }
  return { status: response.status, headers: response.headers, json, text };
}

async function newToken(): Promise<string> {
  const result = await run(["console", "token", "--json"], fixture.env);
  expect(result.code).toBe(0);
  const { token } = JSON.parse(result.stdout) as { token: string };
  expect(token).toMatch(/^sbc_[A-Za-z0-9_-]{43}$/);
  return token;
}

async function login(token: string, name?: string): Promise<Session & { answer: Answer }> {
  const answer = await request("/console/login", {
    body: name === undefined ? { token } : { token, name },
  });
  const setCookie = answer.headers.get("set-cookie") ?? "";
  return {
    answer,
    cookie: setCookie.split(";")[0]!,
    csrf: answer.json.csrf as string,
  };
}

function expectProblem(answer: Answer, status: number, code: string, field?: string): void {
  expect(answer.headers.get("content-type")).toBe("application/problem+json");
  expect(answer.status).toBe(status);
  expect(answer.json.code).toBe(code);
  if (field !== undefined) expect(answer.json.field).toBe(field);
}

let token: string;
let session: Session;

beforeAll(async () => {
  token = await newToken();
  session = await login(token, "alice");
});

describe("access", () => {
  it("logs in with the operator token, with a strict HttpOnly cookie", async () => {
    const { answer } = await login(token, "carol");
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ operator: "carol", csrf: expect.any(String) });
    expect(Date.parse(answer.json.expires_at as string)).toBeGreaterThan(Date.now() + 7 * 3600_000);
    const cookie = answer.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^sb_console=[A-Za-z0-9_-]{43}; /);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Strict");
    expect(cookie).toContain("Path=/console");
    expect(cookie).toContain("Max-Age=28800");
    expect(cookie).not.toContain("Secure");
    const me = await request("/console/api/session", { session });
    expect(me.json).toEqual({
      operator: "alice",
      csrf: session.csrf,
      expires_at: expect.any(String),
    });
  });

  it("refuses a wrong or missing token with 401", async () => {
    expectProblem((await login("sbc_wrong")).answer, 401, "UNAUTHENTICATED", "token");
    expectProblem(
      await request("/console/login", { body: { name: "x" } }),
      401,
      "UNAUTHENTICATED",
      "token",
    );
    expectProblem(
      await request("/console/login", { body: { token, extra: 1 } }),
      400,
      "INVALID_INPUT",
      "extra",
    );
    expectProblem(await request("/console/api/agents"), 401, "UNAUTHENTICATED");
  });

  it("refuses the old token once it is rotated", async () => {
    const old = await newToken();
    expect((await login(old)).answer.status).toBe(200);
    const current = await newToken();
    expectProblem((await login(old)).answer, 401, "UNAUTHENTICATED", "token");
    expect((await login(current)).answer.status).toBe(200);
    token = current;
  });

  it("says to log in again when the session is gone", async () => {
    const mine = await login(token);
    const id = mine.cookie.split("=")[1]!;
    await fixture.redis.del(new ConsoleKeys({ prefix: fixture.prefix }).session(id));
    const answer = await request("/console/api/session", { session: mine });
    expectProblem(answer, 401, "UNAUTHENTICATED");
    expect(answer.json.detail).toContain("log in again");
  });

  it("logs out: 204, the cookie cleared, the session gone", async () => {
    const mine = await login(token);
    const out = await request("/console/logout", { method: "POST", session: mine });
    expect(out.status).toBe(204);
    expect(out.headers.get("set-cookie")).toContain("Max-Age=0");
    expectProblem(await request("/console/api/session", { session: mine }), 401, "UNAUTHENTICATED");
  });

  it("refuses a POST without the session's CSRF token, and a cross-site one", async () => {
    const body = { as: "alice", to: ["nobody"], body: "x" };
    const missing = await request("/console/api/posts", {
      body,
      headers: { cookie: session.cookie },
    });
    expectProblem(missing, 403, "FORBIDDEN", "x-csrf-token");
    const wrong = await request("/console/api/posts", {
      body,
      session,
      headers: { "x-csrf-token": "A".repeat(43) },
    });
    expectProblem(wrong, 403, "FORBIDDEN", "x-csrf-token");
    const crossSite = await request("/console/api/posts", {
      body,
      session,
      headers: { origin: "https://evil.example" },
    });
    expect(crossSite.status).toBe(403);
  });
});

describe("behind a trusted proxy", () => {
  it("marks the cookie Secure when the proxy says https, and only then", async () => {
    const yaml = `${FAST_PIPELINE_YAML}http:\n  trustedProxies: ["127.0.0.1"]\n`;
    const pipeline = await writePipeline(yaml);
    const proxied = await startServe({ ...fixture.env, SWITCHBOARD_PIPELINE: pipeline }, [
      "--console-dir",
      dist,
    ]);
    try {
      const loginAt = async (headers: Record<string, string>) =>
        fetch(new URL("/console/login", proxied.url), {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body: JSON.stringify({ token }),
        });
      const https = await loginAt({ "x-forwarded-proto": "https" });
      expect(https.headers.get("set-cookie")).toMatch(/; Secure$/);
      const plain = await loginAt({});
      expect(plain.headers.get("set-cookie")).not.toContain("Secure");
    } finally {
      await proxied.stop();
      rmSync(dirname(pipeline), { recursive: true, force: true });
    }
  });
});

describe("JSON routes", () => {
  let bobToken: string;
  let threadId: string;
  let messageId: string;

  beforeAll(async () => {
    const bob = await joinAs(fixture.serve.url, "bob", "modern", ["review"]);
    bobToken = bob.token;
    await joinAs(fixture.serve.url, "dave", "modern");
  });

  it("posts as an overseer: the agent's fetch_inbox has it from human:alice", async () => {
    const posted = await request("/console/api/posts", {
      session,
      body: { as: "alice", to: ["bob"], subject: "check", body: "please look" },
    });
    expect(posted.status).toBe(202);
    expect(posted.json).toEqual({
      message_id: expect.any(String),
      thread_id: expect.any(String),
      status: "accepted",
    });
    threadId = posted.json.thread_id as string;
    messageId = posted.json.message_id as string;
    const client = await connectModern(fixture.serve.url, { token: bobToken });
    const fetched = await eventually(async () => {
      const { messages } = await call<{ messages: { from: string; body: unknown }[] }>(
        client,
        "fetch_inbox",
        { limit: 10 },
      );
      return messages.length > 0 && messages;
    });
    expect(fetched[0]).toMatchObject({ from: "human:alice", body: "please look" });
  });

  it("posts into a thread to its participants as the operator, and refuses human: as a recipient or sender name", async () => {
    const into = await request("/console/api/posts", {
      session,
      body: { thread_id: threadId, body: "and again" },
    });
    expect(into.status).toBe(202);
    expect(into.json.thread_id).toBe(threadId);
    const posted = await request(`/console/api/messages/${into.json.message_id as string}`, {
      session,
    });
    expect(posted.json.message).toMatchObject({ from: "human:alice", to: { agents: ["bob"] } });
    expectProblem(
      await request("/console/api/posts", {
        session,
        body: { as: "alice", to: ["human:alice"], body: "x" },
      }),
      400,
      "INVALID_INPUT",
      "to[0]",
    );
    expectProblem(
      await request("/console/api/posts", { session, body: { as: "a:b", to: ["bob"], body: "x" } }),
      400,
      "INVALID_INPUT",
      "as",
    );
    expectProblem(
      await request("/v1/agents", { body: { name: "human:alice" } }),
      400,
      "INVALID_INPUT",
      "name",
    );
  });

  it("lists agents with their backlog", async () => {
    const answer = await request("/console/api/agents", { session });
    expect(answer.status).toBe(200);
    const agents = answer.json.agents as Record<string, unknown>[];
    const bob = agents.find((a) => a.name === "bob")!;
    expect(bob).toMatchObject({
      status: expect.any(String),
      capabilities: ["review"],
      last_seen: expect.any(String),
      backlog: expect.any(Number),
    });
  });

  it("lists threads newest first, and reads one a page at a time", async () => {
    const threads = await eventually(async () => {
      const answer = await request("/console/api/threads?limit=10", { session });
      const list = answer.json.threads as Record<string, unknown>[];
      const found = list.find((t) => t.thread_id === threadId);
      return found?.messages === 2 && list;
    });
    expect(threads[0]).toMatchObject({
      thread_id: threadId,
      subject: "check",
      last_seq: 2,
      last_at: expect.any(String),
      participants: ["bob", "human:alice"],
      messages: 2,
    });
    const first = await request(`/console/api/threads/${threadId}?limit=1`, { session });
    expect(first.json).toMatchObject({ thread_id: threadId, next_after: 1 });
    const [message] = first.json.messages as Record<string, unknown>[];
    expect(message).toMatchObject({ seq: 1, from: "human:alice", recipients: { bob: {} } });
    const second = await request(`/console/api/threads/${threadId}?after=1&limit=1`, { session });
    expect(second.json).toMatchObject({ next_after: null });
    expect((second.json.messages as { seq: number }[]).map((m) => m.seq)).toEqual([2]);
    expectProblem(
      await request(`/console/api/threads/${threadId}?limit=101`, { session }),
      400,
      "INVALID_INPUT",
      "limit",
    );
    expectProblem(
      await request("/console/api/threads/01900000-0000-7000-8000-000000000000", { session }),
      404,
      "NOT_FOUND",
      "thread_id",
    );
  });

  it("shows a message with its history, trace id and trace link", async () => {
    const answer = await request(`/console/api/messages/${messageId}`, { session });
    expect(answer.status).toBe(200);
    expect(answer.json.message).toMatchObject({ message_id: messageId, from: "human:alice" });
    const history = answer.json.history as { status: string; agent?: string }[];
    expect(history.some((h) => h.status === "routed")).toBe(true);
    expect(history.some((h) => h.agent === "bob")).toBe(true);
    expect(answer.json).toHaveProperty("trace_id");
    const traceId = answer.json.trace_id as string | null;
    expect(answer.json.trace_url).toBe(
      traceId === null ? null : `http://traces.example/t/${traceId}`,
    );
    expectProblem(await request("/console/api/messages/nope", { session }), 400, "INVALID_INPUT");
  });

  it("answers the dead letters, pipeline, errors, leases and notes", async () => {
    const dead = await request("/console/api/dead-letters?limit=5&stage=deliver", { session });
    expect(dead.json).toEqual({ dead_letters: [], next_cursor: null, depth: 0 });
    expectProblem(
      await request("/console/api/dead-letters?bogus=1", { session }),
      400,
      "INVALID_INPUT",
      "bogus",
    );
    expectProblem(
      await request("/console/api/dead-letters/1732430000000-0", { session }),
      404,
      "NOT_FOUND",
    );
    const replay = await request("/console/api/dead-letters/replay", {
      session,
      body: { ids: ["1732430000000-0"] },
    });
    expect(replay.json).toMatchObject({ replayed: 0, not_found: 1, results: [expect.any(Object)] });
    expectProblem(
      await request("/console/api/dead-letters/purge", {
        session,
        body: { ids: ["1732430000000-0"] },
      }),
      400,
      "INVALID_INPUT",
      "confirm",
    );
    const purge = await request("/console/api/dead-letters/purge", {
      session,
      body: { ids: ["1732430000000-0"], confirm: "purge" },
    });
    expect(purge.json).toMatchObject({ purged: 0, not_found: 1 });
    const pipeline = await request("/console/api/pipeline", { session });
    expect(pipeline.json).toMatchObject({
      prefix: fixture.prefix,
      stages: { validate: { length: expect.any(Number), pending: expect.any(Number) } },
      partitions: [expect.any(Object)],
      retry_queues: expect.any(Object),
      breakers: [],
    });
    const errors = await request("/console/api/errors?window=1h", { session });
    expect(errors.json).toMatchObject({ windows: [{ label: "1h" }] });
    expectProblem(
      await request("/console/api/errors?window=soon", { session }),
      400,
      "INVALID_INPUT",
      "window",
    );
    expect((await request("/console/api/leases", { session })).json).toEqual([]);
    expect((await request("/console/api/notes", { session })).json).toEqual({
      notes: [],
      truncated: false,
    });
    expectProblem(await request("/console/api/nothing", { session }), 404, "NOT_FOUND");
    const wrongMethod = await request("/console/api/agents", { method: "POST", session, body: {} });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("GET");
  });
});

describe("events", () => {
  it("streams an agent event on registration and a message event on a send", async () => {
    const controller = new AbortController();
    const response = await fetch(new URL("/console/api/events", fixture.serve.url), {
      headers: { cookie: session.cookie },
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/event-stream");
    const reader = response.body!.getReader();
    let seen = "";
    const until = async (pattern: RegExp): Promise<void> => {
      while (!pattern.test(seen)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${pattern}: ${seen}`);
        seen += Buffer.from(value).toString("utf8");
      }
    };
    try {
      await until(/retry: 3000/);
      const erin = await joinAs(fixture.serve.url, "erin", "modern");
      await until(/event: agent\ndata: \{"name":"erin","status":"online"\}/);
      const sent = await call<{ message_id: string }>(erin.client, "send_message", {
        to: ["bob"],
        body: "hello",
      });
      await until(new RegExp(`event: message\\ndata: \\{"message_id":"${sent.message_id}"`));
      expect(seen).toContain('"from":"erin"');
    } finally {
      controller.abort();
    }
  });
});

describe("event stream limit", () => {
  it(`refuses stream ${MAX_STREAMS + 1} with 503 and Retry-After, and opens one again once a stream closes`, async () => {
    const open = async (controller: AbortController): Promise<Response> =>
      fetch(new URL("/console/api/events", fixture.serve.url), {
        headers: { cookie: session.cookie },
        signal: controller.signal,
      });
    const controllers = Array.from({ length: MAX_STREAMS }, () => new AbortController());
    try {
      const streams = await Promise.all(controllers.map(open));
      expect(streams.map((r) => r.status)).toEqual(streams.map(() => 200));
      const refused = await open(new AbortController());
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).toBe("5");
      const problem = (await refused.json()) as { code: string; detail: string };
      expect(problem.code).toBe("RATE_LIMITED");
      expect(problem.detail).toContain("close a console tab");
      controllers.pop()!.abort();
      await expect
        .poll(async () => {
          const again = new AbortController();
          const answer = await open(again);
          again.abort();
          return answer.status;
        })
        .toBe(200);
    } finally {
      for (const controller of controllers) controller.abort();
    }
  });
});

describe("static files", () => {
  it("serves index.html and assets under a strict CSP", async () => {
    for (const path of ["/console", "/console/"]) {
      const index = await request(path);
      expect(index.status).toBe(200);
      expect(index.text).toContain("<title>console</title>");
      expect(index.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(index.headers.get("content-security-policy")).toContain("default-src 'self'");
      expect(index.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      expect(index.headers.get("x-content-type-options")).toBe("nosniff");
      expect(index.headers.get("referrer-policy")).toBe("no-referrer");
    }
    const asset = await request("/console/assets/app-Bx9QzAa1.js");
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(asset.headers.get("cache-control")).toContain("immutable");
    expect((await request("/console/assets/missing.js")).status).toBe(404);
    expect((await request("/console/secret.txt")).status).toBe(404);
  });

  it("refuses directory traversal", async () => {
    for (const path of [
      "/console/assets/../../package.json",
      "/console/assets/..%2F..%2Fpackage.json",
      "/console/assets/%2e%2e/secret.txt",
      "/console/assets/../secret.txt",
    ]) {
      const answer = await send(fixture.serve.url, { path });
      expect(answer.status, path).toBe(404);
      expect(answer.text).not.toContain('"name"');
      expect(answer.text).not.toContain("not an asset");
    }
  });

  it("is off with --no-console, and says to build when the build is missing", async () => {
    const off = await startServe(fixture.env, ["--no-console"]);
    const missing = await startServe(fixture.env, ["--console-dir", join(dist, "nowhere")]);
    try {
      expect((await fetch(new URL("/console/", off.url))).status).toBe(404);
      expect((await fetch(new URL("/console/api/session", off.url))).status).toBe(404);
      const answer = await fetch(new URL("/console/", missing.url));
      expect(answer.status).toBe(503);
      expect(await answer.text()).toContain("npm run build");
      expect(missing.stderr()).toContain(`${missing.url.origin}/console/`);
    } finally {
      await Promise.all([off.stop(), missing.stop()]);
    }
  });
});
