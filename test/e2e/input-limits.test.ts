import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { Keys } from "../../src/redis/keys.js";
import { run, start } from "../support/cli.js";
import type { Client } from "@modelcontextprotocol/client";
import { call, callRaw, joinAs, textOf, useServe } from "../support/mcp.js";

/**
 * Input that used to reach Redis or recursion unchecked (and came back INTERNAL, with a stack
 * in the log) is INVALID_INPUT naming the field and the allowed range, through every front
 * end: a body nested 100,000 levels deep, stream ids past 64 bits, ages past the epoch.
 */
const fixture = useServe();

const LEVELS = 100_000;
const deepArray = (levels: number) => `${"[".repeat(levels)}1${"]".repeat(levels)}`;
const deepObject = (levels: number) => `${'{"a":'.repeat(levels)}1${"}".repeat(levels)}`;
const DEEP_BODY = /^INVALID_INPUT: field `body`: nests more than 256 levels .*allowed are 0 to 256/;
const SLOW = 120_000;

/** A JSON-RPC request, written as text (no JSON.stringify could write a body this deep). */
const rpc = (id: number, method: string, params: string) =>
  `{"jsonrpc":"2.0","id":${id},"method":"${method}","params":${params}}`;
const sendTo = (to: string, body: string) =>
  `{"name":"send_message","arguments":{"to":["${to}"],"body":${body}}}`;

/** A 2025-11-25 session over raw HTTP: what an SDK client cannot send, it can. */
async function rawSession(url: URL) {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
  };
  const post = async (body: string) => {
    const response = await fetch(url, { method: "POST", headers, body });
    const text = await response.text();
    const data = text.split("\n").find((line) => line.startsWith("data: {"));
    return { status: response.status, headers: response.headers, body: data ?? text };
  };
  const init = await post(
    rpc(
      1,
      "initialize",
      '{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}',
    ),
  );
  headers["mcp-session-id"] = init.headers.get("mcp-session-id")!;
  headers["mcp-protocol-version"] = "2025-11-25";
  await post('{"jsonrpc":"2.0","method":"notifications/initialized"}');
  return post;
}

/** What a result or error of a raw exchange says. */
function answerOf(body: string): {
  text?: string;
  isError?: boolean;
  code?: number;
  message?: string;
} {
  const parsed = JSON.parse(body.replace(/^data: /, "")) as {
    result?: { content?: { text: string }[]; isError?: boolean };
    error?: { code: number; message: string };
  };
  return (
    parsed.error ?? { text: parsed.result?.content?.[0]?.text, isError: parsed.result?.isError }
  );
}

function expectCleanLog(): void {
  const log = fixture.serve.stderr();
  expect(log.match(/.*INTERNAL.*/)?.[0]).toBeUndefined();
  expect(log.match(/.*\\n\s+at .*/)?.[0]).toBeUndefined();
}

describe("a body nested 100,000 levels deep", () => {
  it("is refused over the MCP HTTP front end, arrays or objects, naming the field and the range", async () => {
    const post = await rawSession(fixture.serve.url);
    await post(rpc(2, "tools/call", '{"name":"register_agent","arguments":{"name":"deep-h"}}'));
    for (const [id, body] of [
      [3, deepArray(LEVELS)],
      [4, deepObject(LEVELS)],
    ] as const) {
      // Refused as it is read: deeper than any tool takes, and than the SDK can re-serialize.
      const { status, body: answer } = await post(rpc(id, "tools/call", sendTo("deep-h", body)));
      expect(status).toBe(200);
      expect(answerOf(answer)).toMatchObject({
        code: -32602,
        message: expect.stringMatching(/field `body`\) may nest 0 to 256 levels/),
      });
    }
    // Deeper than a tool takes, yet within what the front end reads: the tool refuses it.
    const { status, body: answer } = await post(
      rpc(5, "tools/call", sendTo("deep-h", deepArray(300))),
    );
    expect(status).toBe(200);
    expect(answerOf(answer)).toMatchObject({
      isError: true,
      text: expect.stringMatching(DEEP_BODY),
    });
    const metadata = `{"name":"register_agent","arguments":{"name":"deep-h","metadata":{"m":${deepArray(300)}}}}`;
    expect(answerOf((await post(rpc(6, "tools/call", metadata))).body).text).toMatch(
      /^INVALID_INPUT: field `metadata.m`: nests more than 16 levels/,
    );
    expectCleanLog();
  });

  it("is INVALID_INPUT naming `limits.maxBodyDepth` past the pipeline's 64 levels; 64 pass", async () => {
    const { client } = await joinAs(fixture.serve.url, "deep-p", "legacy");
    const nest = (levels: number): unknown => JSON.parse(deepArray(levels));
    expect(await call(client, "send_message", { to: ["deep-p"], body: nest(64) })).toMatchObject({
      status: "accepted",
    });
    const refused = await callRaw(client, "send_message", { to: ["deep-p"], body: nest(65) });
    expect(textOf(refused)).toMatch(
      /^INVALID_INPUT: field `body`: nests more than 64 levels .*0 to 64 .*`limits.maxBodyDepth`/,
    );
  });

  it(
    "is INVALID_INPUT over the stdio front end, which keeps serving",
    async () => {
      const child = start(["stdio", "--agent", "deep-s"], fixture.env);
      const answers = new Map<number, string>();
      const lines = createInterface({ input: child.stdout! });
      lines.on("line", (line) => {
        const id = (JSON.parse(line) as { id?: number }).id;
        if (id !== undefined) answers.set(id, line);
      });
      const answer = async (id: number, line: string) => {
        child.stdin!.write(`${line}\n`);
        for (let i = 0; i < 600 && !answers.has(id); i++)
          await new Promise((r) => setTimeout(r, 50));
        return answerOf(answers.get(id) ?? "{}");
      };
      await answer(
        1,
        rpc(
          1,
          "initialize",
          '{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}',
        ),
      );
      child.stdin!.write('{"jsonrpc":"2.0","method":"notifications/initialized"}\n');
      expect(
        await answer(2, rpc(2, "tools/call", sendTo("deep-s", deepObject(LEVELS)))),
      ).toMatchObject({
        isError: true,
        text: expect.stringMatching(DEEP_BODY),
      });
      expect((await answer(3, rpc(3, "tools/call", sendTo("deep-s", "[[1]]")))).text).toMatch(
        /^sent /,
      );
      child.stdin!.end();
      child.kill();
    },
    SLOW,
  );

  it(
    "is refused by `switchboard send --body` and `--file`, naming the field",
    async () => {
      await joinAs(fixture.serve.url, "deep-c", "legacy");
      // One argument holds at most 128 KiB on Linux: 65,000 levels fit, far past any stack.
      const body = await run(
        ["send", "--from", "deep-c", "--to", "deep-c", "--body", deepArray(65_000)],
        fixture.env,
      );
      expect(body.code).toBe(2);
      expect(body.stderr).toMatch(/^switchboard: --body: nests more than 256 levels/);
      const dir = await mkdtemp(join(tmpdir(), "switchboard-deep-"));
      const file = join(dir, "deep.jsonl");
      await writeFile(file, `{"from":"deep-c","to":"deep-c","body":${deepObject(LEVELS)}}\n`);
      const sent = await run(["send", "--file", file], fixture.env);
      await rm(dir, { recursive: true, force: true });
      expect(sent.code).toBe(1);
      expect(sent.stderr).toMatch(/line 1: field `body`: nests more than 256 levels/);
      expect(sent.stdout).toMatch(/sent 0 messages \(1 rejected line\)/);
    },
    SLOW,
  );
});

describe("stream ids and ages from outside", () => {
  it("are refused past 64 bits or the epoch, naming the field and the range", async () => {
    const { name, client } = await joinAs(fixture.serve.url, "ids-a", "legacy");
    await fixture.redis.hset(new Keys(fixture.prefix).agent(name), "role", "admin");
    const RANGE = /each part a whole number from 0 to 18446744073709551615 \(2\^64 − 1\)/;
    const refusals: [string, Record<string, unknown>, RegExp][] = [
      ["replay", { after: "18446744073709551616-0" }, /^INVALID_INPUT: field `after`: a cursor/],
      [
        "replay",
        { thread_id: "t1", after: "5-0" },
        /field `after`: with `thread_id`, `after` is a sequence number/,
      ],
      [
        "dlq_list",
        { after: "99999999999999999999-0" },
        /^INVALID_INPUT: field `after`: a dead-letter id/,
      ],
      [
        "dlq_replay",
        { ids: ["18446744073709551616-1"] },
        /^INVALID_INPUT: field `ids\[0\]`: a dead-letter id/,
      ],
      [
        "dlq_purge",
        { ids: ["1-99999999999999999999"] },
        /^INVALID_INPUT: field `ids\[0\]`: a dead-letter id/,
      ],
    ];
    for (const [tool, args, expected] of refusals) {
      const text = textOf(await callRaw(client, tool, args));
      expect(text, tool).toMatch(expected);
      if (tool !== "replay" || args.thread_id === undefined) expect(text, tool).toMatch(RANGE);
    }
    expect(textOf(await callRaw(client, "dlq_list", { newer_than_seconds: 1e15 }))).toMatch(
      /^INVALID_INPUT: field `newer_than_seconds`: at most 315360000 seconds/,
    );
    // The largest ids and ages are answered, with nothing.
    for (const [tool, args] of [
      ["replay", { after: "18446744073709551615-18446744073709551615" }],
      ["dlq_list", { after: "0-0" }],
      ["dlq_list", { older_than_seconds: 315_360_000, newer_than_seconds: 315_360_000 }],
      ["dlq_replay", { ids: ["18446744073709551615-18446744073709551615"] }],
    ] as const) {
      const result = await callRaw(client, tool, args);
      expect(result.isError, `${tool}: ${textOf(result)}`).toBeUndefined();
    }
    expectCleanLog();
  });

  it(
    "are refused by `switchboard dlq` past 64 bits; ages past the epoch select from time 0",
    async () => {
      const show = await run(["dlq", "show", "99999999999999999999-0"], fixture.env);
      expect(show.code).toBe(2);
      expect(show.stderr).toMatch(/'99999999999999999999-0' is not a dead-letter id .*2\^64 − 1/);
      const replay = await run(["dlq", "replay", "1-0", "18446744073709551616-0"], fixture.env);
      expect(replay.stderr).toMatch(/'18446744073709551616-0' is not a dead-letter id/);
      expect(replay.code).toBe(2);
      for (const args of [
        ["dlq", "list", "--newer-than", "99999999d", "--older-than", "99999999d"],
        ["errors", "--window", "99999999d"],
      ]) {
        const result = await run(args, fixture.env);
        expect(result.stderr, args.join(" ")).toBe("");
        expect(result.code).toBe(0);
      }
    },
    SLOW,
  );
});

describe("JSON-RPC params the SDK cannot parse", () => {
  it("are answered -32602 naming the field, not -32603", async () => {
    const post = await rawSession(fixture.serve.url);
    for (const [method, params, field] of [
      ["tools/list", '{"cursor":5}', "cursor"],
      ["resources/read", '{"uri":["x"]}', "uri"],
      ["resources/subscribe", '{"uri":5}', "uri"],
    ] as const) {
      expect(answerOf((await post(rpc(7, method, params))).body)).toMatchObject({
        code: -32602,
        message: expect.stringContaining(`Invalid params for ${method}: field \`${field}\``),
      });
    }
    const { client } = await joinAs(fixture.serve.url, "uri-a", "legacy");
    const read = (client as Client).readResource({
      uri: "switchboard://thread/bad%20id",
    });
    await expect(read).rejects.toMatchObject({
      code: -32602,
      message: expect.stringMatching(/a thread id is 1-128/),
    });
  });
});
