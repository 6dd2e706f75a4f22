import { randomInt } from "node:crypto";
import { describe, expect, it } from "vitest";
import { loadPipeline } from "../../src/config/pipeline.js";
import { ERROR_CODES, isErrorCode } from "../../src/protocol/errors.js";
import { ArgsFuzzer, Prng, type JsonSchema, type Known } from "../support/fuzz-args.js";
import { useServe } from "../support/mcp.js";

/**
 * A seeded fuzzer of `/v1` against a real `serve`: every operation of the OpenAPI document,
 * with input made from the document's own schemas and then mutated (wrong types, huge
 * strings, deep nesting, prototype-ish keys), in the body or the query string and path.
 * No answer is a 5xx, every refusal is a problem document with a code, and an input refusal
 * names its field. Reproduce a run with SWITCHBOARD_FUZZ_SEED=… (…_CALLS=… for a longer one).
 */
const SEED = Number(process.env.SWITCHBOARD_FUZZ_SEED ?? randomInt(2 ** 31));
const CALLS = Number(process.env.SWITCHBOARD_FUZZ_CALLS ?? 800);
const CONCURRENCY = 8;
/** serve's body limit (the default pipeline file's `http.maxBodyBytes`). */
const MAX_BODY_BYTES = loadPipeline().http.maxBodyBytes;

const fixture = useServe();

interface Operation {
  method: string;
  path: string;
  operationId: string;
  /** The body's schema, or an object schema of the parameters (path and query). */
  schema: JsonSchema;
  inBody: boolean;
}

interface Parameter {
  name: string;
  in: "path" | "query";
  required: boolean;
  schema: JsonSchema;
}

interface OperationObject {
  operationId: string;
  parameters: Parameter[];
  requestBody?: { content: { "application/json": { schema: JsonSchema } } };
}

function operationsOf(document: { paths: Record<string, Record<string, OperationObject>> }) {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]): Operation => {
      const body = op.requestBody?.content["application/json"].schema;
      const schema: JsonSchema = body ?? {
        type: "object",
        properties: Object.fromEntries(op.parameters.map((p) => [p.name, p.schema])),
        required: op.parameters.filter((p) => p.required).map((p) => p.name),
      };
      return {
        method: method.toUpperCase(),
        path,
        operationId: op.operationId,
        schema,
        inBody: !!body,
      };
    }),
  );
}

/** A query value as a client would write it: lists repeat the name, objects as JSON. */
const written = (value: unknown): string =>
  typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);

/** Lone surrogates as U+FFFD, as a client's encoder would send them. */
const wellFormed = (text: string): string => Buffer.from(text, "utf8").toString("utf8");

function urlOf(base: URL, op: Operation, args: Record<string, unknown>): URL {
  const { id, ...query } = args;
  const url = new URL(
    op.path.replace("{id}", encodeURIComponent(wellFormed(written(id ?? "x")))),
    base,
  );
  if (op.inBody) return url;
  for (const [name, value] of Object.entries(query)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      url.searchParams.append(name, written(item));
    }
  }
  return url;
}

/** What is wrong with an answer, if anything. */
function problemWith(status: number, contentType: string | null, text: string): string | undefined {
  // A request line past Node's header limit is refused before any route (safe-server.ts).
  if (status < 400 || status === 431) return undefined;
  if (status >= 500) return `${status}: ${text.slice(0, 300)}`;
  if (contentType !== "application/problem+json") return `${status} is no problem document`;
  const problem = JSON.parse(text) as { code?: string; field?: string; detail?: string };
  if (problem.code === undefined || !isErrorCode(problem.code)) {
    return `no code: ${text.slice(0, 300)}`;
  }
  if (ERROR_CODES[problem.code].category === "transient") return text.slice(0, 300);
  if (problem.code === "INVALID_INPUT" && problem.field === undefined && status === 400) {
    return `names no field: ${problem.detail}`;
  }
  return undefined;
}

describe("the /v1 fuzzer", () => {
  it(`never answers 5xx, and names what it refuses (seed ${SEED})`, async () => {
    const base = fixture.serve.url;
    const registered = await fetch(new URL("/v1/agents", base), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "fuzz" }),
    });
    const { token } = (await registered.json()) as { token: string };
    const document = await (await fetch(new URL("/v1/openapi.json", base))).json();
    const operations = operationsOf(document as Parameters<typeof operationsOf>[0]);
    const known: Known = {
      names: ["fuzz"],
      messageIds: [],
      threadIds: [],
      topics: [],
      inboxIds: [],
    };
    const rng = new Prng(SEED);
    const fuzzer = new ArgsFuzzer(rng, known, SEED);
    const problems: string[] = [];

    const fuzzOne = async (i: number): Promise<void> => {
      const op = rng.pick(operations);
      const args = fuzzer.args(op.operationId, op.schema);
      const headers: Record<string, string> = { connection: "close" };
      // Registration without a token, so the fuzzing agent stays itself.
      if (op.operationId !== "register_agent") headers.authorization = `Bearer ${token}`;
      if (op.inBody) headers["content-type"] = "application/json";
      const body = op.inBody ? JSON.stringify(args) : undefined;
      let response: Response;
      try {
        response = await fetch(urlOf(base, op, args), { method: op.method, headers, body });
      } catch (error) {
        // A body over the limit is answered 413 at once and the connection closed (RFC 9110
        // §15.5.14): a client still sending it may meet the reset before the answer.
        if (body !== undefined && Buffer.byteLength(body) > MAX_BODY_BYTES) return;
        throw error;
      }
      const text = await response.text();
      const problem = problemWith(response.status, response.headers.get("content-type"), text);
      if (problem !== undefined) {
        problems.push(
          `#${i} ${op.method} ${op.path} ${JSON.stringify(args).slice(0, 300)}: ${problem}`,
        );
      }
      if (response.ok && op.operationId === "send_message") {
        const sent = JSON.parse(text) as { message_id: string; thread_id: string };
        known.messageIds.push(sent.message_id);
        known.threadIds.push(sent.thread_id);
      }
    };

    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < CALLS) await fuzzOne(next++);
      }),
    );
    expect(problems.slice(0, 20)).toEqual([]);
    expect(fixture.serve.child.exitCode).toBeNull();
    const sent = await fetch(new URL("/v1/messages", base), {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ to: ["fuzz"], body: "still here" }),
    });
    expect(sent.status).toBe(202);
  }, 240_000);
});
