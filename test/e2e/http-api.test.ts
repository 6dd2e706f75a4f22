import { validate } from "@readme/openapi-parser";
import { beforeAll, describe, expect, it } from "vitest";
import { SwitchboardApiError, SwitchboardClient } from "../../src/index.js";
import { Keys } from "../../src/redis/keys.js";
import { cliEnv } from "../support/cli.js";
import { scrape, valueOf } from "../support/metrics.js";
import { eventually } from "../support/harness.js";
import { FAST_PIPELINE_YAML, startServe, useServe } from "../support/mcp.js";
import { send } from "../support/raw-http.js";

/**
 * The HTTP API (`/v1`) against a real `serve`: every route with good and bad input, the
 * problem documents, the OpenAPI document (checked by a validator), the typed client, and
 * a long poll answered when the front end stops.
 */
const fixture = useServe({
  yaml:
    `${FAST_PIPELINE_YAML}limits:\n  maxBodyBytes: 2048\n  sendRate: { perSecond: 0.05, burst: 20 }\n` +
    `http:\n  maxBodyBytes: 4096\n`,
});

interface Answer {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
}

interface Request {
  method?: string;
  token?: string | undefined;
  body?: unknown;
  headers?: Record<string, string>;
}

/** One request to the API; a body that is not a string is sent as JSON. */
async function api(path: string, request: Request = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...request.headers };
  if (request.token !== undefined) headers.authorization = `Bearer ${request.token}`;
  let body: string | undefined;
  if (request.body !== undefined) {
    headers["content-type"] ??= "application/json";
    body = typeof request.body === "string" ? request.body : JSON.stringify(request.body);
  }
  const response = await fetch(new URL(path, fixture.serve.url), {
    method: request.method ?? (body === undefined ? "GET" : "POST"),
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    json: text === "" ? {} : (JSON.parse(text) as Record<string, unknown>),
  };
}

/** A problem document's status, code, field and content type. */
function expectProblem(answer: Answer, status: number, code: string, field?: string): void {
  expect(answer.headers.get("content-type")).toBe("application/problem+json");
  expect(answer.json).toMatchObject({
    status,
    code,
    type: `urn:switchboard:problem:${code.toLowerCase()}`,
  });
  expect(answer.status).toBe(status);
  if (field !== undefined) expect(answer.json.field).toBe(field);
}

const tokens = new Map<string, string>();
const tokenOf = (name: string): string => tokens.get(name)!;

async function register(name: string, extra: Record<string, unknown> = {}): Promise<Answer> {
  const answer = await api("/v1/agents", { body: { name, ...extra } });
  if (answer.status === 200) tokens.set(name, answer.json.token as string);
  return answer;
}

beforeAll(async () => {
  for (const name of ["alice", "bob"]) expect((await register(name)).status).toBe(200);
});

describe("POST /v1/agents", () => {
  it("registers a name and answers its token, as register_agent does", async () => {
    const answer = await register("carol", { capabilities: ["review"] });
    expect(answer.json).toMatchObject({
      name: "carol",
      created: true,
      agent: { name: "carol", capabilities: ["review"] },
    });
    expect(answer.json.token).toMatch(/^sbt_/);
  });

  it("updates with the agent's own token, and refuses another's name, an unknown token, a taken name", async () => {
    const updated = await api("/v1/agents", {
      token: tokenOf("carol"),
      body: { name: "carol", description: "reviews" },
    });
    expect(updated.json).toMatchObject({ created: false, token: tokenOf("carol") });
    const other = await api("/v1/agents", { token: tokenOf("carol"), body: { name: "dave" } });
    expectProblem(other, 400, "INVALID_INPUT", "name");
    const forged = await api("/v1/agents", {
      token: "sbt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      body: { name: "dave" },
    });
    expectProblem(forged, 401, "UNAUTHENTICATED");
    expect(forged.headers.get("www-authenticate")).toBe(
      'Bearer realm="switchboard", error="invalid_token"',
    );
    expectProblem(await api("/v1/agents", { body: { name: "carol" } }), 409, "NAME_TAKEN", "name");
  });

  it("refuses a field the tool does not take, naming it", async () => {
    const answer = await api("/v1/agents", { body: { name: "erin", role: "admin" } });
    expectProblem(answer, 400, "INVALID_INPUT", "role");
    expect(answer.json.detail).toContain("unknown argument");
  });
});

describe("messages, inbox and ack", () => {
  it("sends (202), fetches, reads the message and its thread, acks", async () => {
    const sent = await api("/v1/messages", {
      token: tokenOf("alice"),
      body: { to: ["bob"], subject: "hello", body: { n: 1 } },
    });
    expect(sent.status).toBe(202);
    expect(sent.json).toMatchObject({ status: "accepted" });
    const id = sent.json.message_id as string;

    const fetched = await api("/v1/inbox?limit=5&wait_seconds=10", { token: tokenOf("bob") });
    expect(fetched.status).toBe(200);
    expect(fetched.json).toMatchObject({
      count: 1,
      messages: [{ message_id: id, from: "alice", body: { n: 1 } }],
    });

    const message = await api(`/v1/messages/${id}`, { token: tokenOf("bob") });
    expect(message.json).toMatchObject({ message: { message_id: id, subject: "hello" } });
    const thread = await api(`/v1/threads/${sent.json.thread_id as string}`, {
      token: tokenOf("alice"),
    });
    expect(thread.json).toMatchObject({
      thread_id: sent.json.thread_id,
      messages: [{ message_id: id }],
    });

    const acked = await api("/v1/inbox/ack", {
      token: tokenOf("bob"),
      body: { message_ids: [id] },
    });
    expect(acked.json).toEqual({ acked: [id], already_acked: [], unknown: [] });
    const again = await api("/v1/inbox/ack", {
      token: tokenOf("bob"),
      body: { message_ids: [id] },
    });
    expect(again.json).toEqual({ acked: [], already_acked: [id], unknown: [] });
    // Counted under one route label, whatever the path and its id.
    const metrics = await scrape(fixture.serve.url);
    const gets = { method: "GET", route: "/v1", status: "200" };
    expect(valueOf(metrics, "switchboard_http_requests_total", gets)).toBeGreaterThanOrEqual(3);
  });

  it("refuses bad input with the field and the fix", async () => {
    const alice = tokenOf("alice");
    const noTarget = await api("/v1/messages", { token: alice, body: { body: "to whom?" } });
    expectProblem(noTarget, 400, "INVALID_INPUT");
    const from = await api("/v1/messages", {
      token: alice,
      body: { to: ["bob"], body: 1, from: "bob" },
    });
    expectProblem(from, 400, "INVALID_INPUT", "from");
    const query = await api("/v1/inbox/ack?message_ids=x", {
      token: alice,
      body: { message_ids: [] },
    });
    expectProblem(query, 400, "INVALID_INPUT", "message_ids");
    const missing = await api("/v1/messages/01a24780-a444-72a8-b41a-10b9e4c7d8f6", {
      token: alice,
    });
    expectProblem(missing, 404, "NOT_FOUND");
  });

  it.each([
    ["/v1/inbox?limit=many", "limit"],
    ["/v1/inbox?limit=1000", "limit"],
    ["/v1/inbox?limit=1&limit=2", "limit"],
    ["/v1/inbox?__proto__=1", "__proto__"],
    ["/v1/agents?status=asleep", "status"],
    ["/v1/messages/not-an-id", "message_id"],
    ["/v1/messages/01a24780-a444-72a8-b41a-10b9e4c7d8f6?x=1", "x"],
    ["/v1/threads/%E0%A4%A", "id"],
  ])("refuses GET %s naming the field %s", async (path, field) => {
    expectProblem(await api(path, { token: tokenOf("alice") }), 400, "INVALID_INPUT", field);
  });

  it("refuses bodies that are not JSON (400, 415) or too large (413)", async () => {
    const alice = tokenOf("alice");
    const notJson = await api("/v1/messages", { token: alice, body: "{to: bob" });
    expectProblem(notJson, 400, "INVALID_INPUT");
    expect(notJson.json.detail).toContain("not valid JSON");
    const empty = await api("/v1/messages", {
      token: alice,
      body: "",
      headers: { "content-type": "application/json" },
    });
    expectProblem(empty, 400, "INVALID_INPUT");
    const text = await api("/v1/messages", {
      token: alice,
      body: "hello",
      headers: { "content-type": "text/plain" },
    });
    expectProblem(text, 415, "INVALID_INPUT", "content-type");
    const large = await send(fixture.serve.url, {
      method: "POST",
      path: "/v1/messages",
      headers: { authorization: `Bearer ${alice}`, "content-type": "application/json" },
      body: JSON.stringify({ to: ["bob"], body: "x".repeat(5000) }),
    });
    expect(large.status).toBe(413);
    expect(JSON.parse(large.text)).toMatchObject({
      code: "TOO_LARGE",
      data: { limit_bytes: 4096 },
    });
  });

  it("answers RATE_LIMITED with Retry-After", async () => {
    await register("rapid");
    let answer: Answer | undefined;
    for (let i = 0; i < 21; i++) {
      answer = await api("/v1/messages", {
        token: tokenOf("rapid"),
        body: { to: ["bob"], body: i },
      });
      if (answer.status !== 202) break;
    }
    expectProblem(answer!, 429, "RATE_LIMITED");
    const wait = (answer!.json.data as { retry_after_seconds: number }).retry_after_seconds;
    expect(Number(answer!.headers.get("retry-after"))).toBe(Math.max(1, Math.ceil(wait)));
  });
});

describe("the edges of /v1", () => {
  it("asks for a token: 401 with WWW-Authenticate, for no token, another scheme, a forged one", async () => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: "Basic YWxpY2U6eA==" },
      { authorization: "Bearer sbt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" },
      { authorization: "Bearer not-a-token" },
    ];
    for (const headers of attempts) {
      const answer = await api("/v1/inbox", { headers });
      expectProblem(answer, 401, "UNAUTHENTICATED");
      expect(answer.headers.get("www-authenticate")).toMatch(/^Bearer realm="switchboard"/);
    }
  });

  it("answers 404 for an unknown route and 405 with Allow for a wrong method", async () => {
    expectProblem(await api("/v1/nothing", { token: tokenOf("alice") }), 404, "NOT_FOUND");
    expectProblem(await api("/v1", {}), 404, "NOT_FOUND");
    expectProblem(await api("/v1/messages/", { token: tokenOf("alice") }), 404, "NOT_FOUND");
    const wrong = await api("/v1/inbox", { method: "DELETE", token: tokenOf("alice") });
    expectProblem(wrong, 405, "INVALID_INPUT");
    expect(wrong.headers.get("allow")).toBe("GET");
    const both = await api("/v1/agents", { method: "PUT" });
    expect(both.headers.get("allow")).toBe("POST, GET");
    expect((await api("/v1/openapi.json", { method: "POST", body: {} })).headers.get("allow")).toBe(
      "GET",
    );
  });

  it("refuses a foreign Origin, as /mcp does", async () => {
    const answer = await send(fixture.serve.url, {
      path: "/v1/agents",
      headers: { origin: "https://evil.example", authorization: `Bearer ${tokenOf("alice")}` },
    });
    expect(answer.status).toBe(403);
  });
});

describe("GET /v1/openapi.json", () => {
  it("is a valid OpenAPI 3.1 document naming every route", async () => {
    const { json } = await api("/v1/openapi.json");
    const result = await validate(structuredClone(json) as never);
    expect(result.valid ? [] : result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    // The validator does look: a dangling reference fails it.
    const broken = JSON.parse(
      JSON.stringify(json).replace('"#/components/schemas/Problem"', '"#/components/schemas/Nope"'),
    );
    expect((await validate(broken as never)).valid).toBe(false);
    expect(json.openapi).toBe("3.1.0");
    const operations = Object.entries(json.paths as Record<string, object>).flatMap(
      ([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual([
      "GET /v1/agents",
      "GET /v1/inbox",
      "GET /v1/messages/{id}",
      "GET /v1/threads/{id}",
      "POST /v1/agents",
      "POST /v1/inbox/ack",
      "POST /v1/messages",
    ]);
  });
});

describe("SwitchboardClient", () => {
  it("registers, sends, fetches, reads and acks against a real serve", async () => {
    const url = fixture.serve.url;
    const sender = new SwitchboardClient({ url });
    const registered = await sender.register({ name: "client-a" });
    expect(sender.token).toBe(registered.token);
    const receiver = new SwitchboardClient({ url });
    await receiver.register({ name: "client-b" });

    const sent = await sender.send({ to: ["client-b"], body: "typed" });
    expect(sent.status).toBe("accepted");
    const { messages } = await receiver.fetchInbox({ wait_seconds: 10 });
    expect(messages.map((m) => [m.message_id, m.body])).toEqual([[sent.message_id, "typed"]]);
    expect((await receiver.getMessage(sent.message_id)).from).toBe("client-a");
    expect((await sender.getThread(sent.thread_id)).messages).toHaveLength(1);
    expect(await receiver.ack([sent.message_id])).toMatchObject({ acked: [sent.message_id] });
    const { agents } = await sender.listAgents({ capability: undefined });
    expect(agents.map((a) => a.name)).toContain("client-b");
  });

  it("throws SwitchboardApiError carrying the problem", async () => {
    const client = new SwitchboardClient({ url: fixture.serve.url, token: tokenOf("alice") });
    const error = await client
      .getMessage("01a24780-a444-72a8-b41a-10b9e4c7d8f6")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SwitchboardApiError);
    expect(error).toMatchObject({ code: "NOT_FOUND", status: 404 });
    const invalid = await client.ack(["not-an-id"]).catch((e: unknown) => e);
    expect(invalid).toMatchObject({ code: "INVALID_INPUT", status: 400, field: "message_ids[0]" });
    const anonymous = new SwitchboardClient({ url: fixture.serve.url });
    await expect(anonymous.fetchInbox()).rejects.toMatchObject({
      code: "UNAUTHENTICATED",
      status: 401,
    });
  });

  it("carries Retry-After and the problem's data when rate limited", async () => {
    const client = new SwitchboardClient({ url: fixture.serve.url });
    await client.register({ name: "rapid-client" });
    let error: unknown;
    for (let i = 0; i < 21 && error === undefined; i++) {
      error = await client.send({ to: ["bob"], body: i }).then(
        () => undefined,
        (e: unknown) => e,
      );
    }
    expect(error).toMatchObject({ code: "RATE_LIMITED", status: 429 });
    const { data, retryAfterSeconds } = error as SwitchboardApiError;
    const wait = (data as { retry_after_seconds: number }).retry_after_seconds;
    expect(retryAfterSeconds).toBe(Math.max(1, Math.ceil(wait)));
  });
});

describe("a long poll and shutdown", () => {
  it("answers GET /v1/inbox with what it has when the front end stops", async () => {
    const serve = await startServe(cliEnv(fixture.prefix, fixture.pipeline));
    try {
      const client = new SwitchboardClient({ url: serve.url, token: tokenOf("alice") });
      const keys = new Keys(fixture.prefix);
      // Each call touches its agent when it starts: a score of 1 moving on means it is under way.
      await fixture.redis.zadd(keys.directory(), "XX", 1, "alice");
      const poll = client.fetchInbox({ wait_seconds: 60 });
      await eventually(
        async () => Number(await fixture.redis.zscore(keys.directory(), "alice")) > 1,
      );
      const exited = serve.stop("SIGTERM");
      expect(await poll).toEqual({ messages: [], count: 0 });
      expect((await exited).code).toBe(0);
    } finally {
      await serve.stop();
    }
  });
});
