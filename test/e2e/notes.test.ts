import { writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { run } from "../support/cli.js";
import { eventually } from "../support/harness.js";
import {
  call,
  callRaw,
  connectLegacy,
  fastPipelineWith,
  joinAs,
  textOf,
  useServe,
  type McpClient,
} from "../support/mcp.js";
import {
  casRounds,
  expectHistory,
  expectNoteNotice,
  type NoteResult,
  type PutResult,
} from "../support/notes.js";

/** Shared notes through real MCP clients of every era, against a real `serve` and Redis. */
const LIMIT = 2048;
const fixture = useServe({ yaml: fastPipelineWith({ limits: { maxBodyBytes: LIMIT } }) });

async function team(...names: string[]) {
  const eras = ["legacy", "modern", "v1"] as const;
  return Promise.all(names.map((name, i) => joinAs(fixture.serve.url, name, eras[i % 3]!)));
}

/** The text of an isError result of a call. */
async function refusal(client: McpClient, tool: string, args: Record<string, unknown>) {
  const result = await callRaw(client, tool, args);
  expect(result.isError, JSON.stringify(result)).toBe(true);
  return textOf(result);
}

describe("shared notes", () => {
  it("writes versions, reads any kept one, and keeps the history", async () => {
    const [ada, bob, cyd] = await team("n-ada", "n-bob", "n-cyd");
    const key = "plans/auth";
    const v1 = await call<PutResult>(ada!.client, "put_note", {
      key,
      content: "# Plan\n1. tokens",
    });
    expect(v1).toMatchObject({ key, version: 1, expires_at: null });
    await call(bob!.client, "put_note", { key, content: "# Plan\n1. JWT", expected_version: 1 });
    await call(ada!.client, "put_note", { key, content: "# Plan\n1. JWT\n2. tests" });
    // A late joiner reads the latest version, an earlier one, and who wrote each.
    const latest = await call<NoteResult>(cyd!.client, "get_note", { key });
    expect(latest).toMatchObject({
      key,
      version: 3,
      updated_by: "n-ada",
      content: "# Plan\n1. JWT\n2. tests",
    });
    expect(await call<NoteResult>(cyd!.client, "get_note", { key, version: 2 })).toMatchObject({
      version: 2,
      updated_by: "n-bob",
      content: "# Plan\n1. JWT",
    });
    await expectHistory(cyd!.client, key, ["n-ada", "n-bob", "n-ada"]);
    const listed = await call<{ notes: { key: string; version: number }[] }>(
      cyd!.client,
      "list_notes",
      { prefix: "plans/" },
    );
    expect(listed.notes).toEqual([
      expect.objectContaining({ key, version: 3, updated_by: "n-ada" }),
    ]);
    // The resource shows the latest version, slashes and all.
    const read = await cyd!.client.readResource({ uri: `switchboard://notes/${key}` });
    const text = (read.contents[0] as { text: string }).text;
    expect(JSON.parse(text)).toMatchObject({ key, version: 3, updated_by: "n-ada" });
  });

  it("lets exactly one of several concurrent writers win each round", async () => {
    const writers = await team("w-ann", "w-ben", "w-cat", "w-dan");
    const winners = await casRounds(writers, "contracts/api", 6);
    expect(winners).toHaveLength(6);
    await expectHistory(writers[0]!.client, "contracts/api", [writers[0]!.name, ...winners]);
  });

  it("keeps the last 50 versions", async () => {
    const [ada] = await team("h-ada");
    for (let i = 1; i <= 52; i++) {
      await call(ada!.client, "put_note", { key: "log/decisions", content: `decision ${i}` });
    }
    const history = await call<{ version: number; versions: { version: number }[] }>(
      ada!.client,
      "note_history",
      { key: "log/decisions" },
    );
    expect(history.version).toBe(52);
    expect(history.versions.map((v) => v.version)).toEqual(
      Array.from({ length: 50 }, (_, i) => 52 - i),
    );
    expect(await refusal(ada!.client, "get_note", { key: "log/decisions", version: 2 })).toMatch(
      /^NOT_FOUND: version 2 of note 'log\/decisions' is no longer kept .*note_history/,
    );
  });

  it("expires a note with ttl_seconds, every version of it, and drops it from the list", async () => {
    const [ada] = await team("t-ada");
    const written = await call<PutResult>(ada!.client, "put_note", {
      key: "scratch/ttl",
      content: "soon gone",
      ttl_seconds: 1,
    });
    expect(written.expires_at).not.toBeNull();
    // A write without ttl_seconds keeps the expiry.
    const again = await call<PutResult>(ada!.client, "put_note", {
      key: "scratch/ttl",
      content: "still soon gone",
    });
    expect(again.expires_at).not.toBeNull();
    await eventually(async () => {
      const result = await callRaw(ada!.client, "get_note", { key: "scratch/ttl" });
      return result.isError === true && textOf(result).startsWith("NOT_FOUND: no note");
    });
    const listed = await call<{ notes: { key: string }[] }>(ada!.client, "list_notes", {
      prefix: "scratch/",
    });
    expect(listed.notes).toEqual([]);
    expect(await fixture.redis.zscore(`${fixture.prefix}:{dir}:notes`, "scratch/ttl")).toBeNull();
  });

  it("tells subscribers of switchboard.notes about each change", async () => {
    const [ada, sub] = await team("s-ada", "s-sub");
    await expectNoteNotice(sub!.client, ada!, "plans/notify");
  });

  it("refuses bad input, naming the field and the fix", async () => {
    const [ada] = await team("b-ada");
    expect(await refusal(ada!.client, "put_note", { key: "bad key!", content: "x" })).toMatch(
      /^INVALID_INPUT: .*`key`.*letters, digits, '\.', '_', '\/' or '-'/,
    );
    expect(await refusal(ada!.client, "get_note", { key: "{n:x}" })).toMatch(/`key`/);
    expect(
      await refusal(ada!.client, "put_note", { key: "big", content: "x".repeat(LIMIT + 1) }),
    ).toMatch(
      new RegExp(
        `^TOO_LARGE: \`content\` is ${LIMIT + 1} bytes, over the limit of ${LIMIT} .*split the note`,
      ),
    );
    expect(await refusal(ada!.client, "get_note", { key: "no/such" })).toMatch(
      /^NOT_FOUND: no note with key 'no\/such' .*list_notes/,
    );
    expect(await refusal(ada!.client, "note_history", { key: "no/such" })).toMatch(/^NOT_FOUND/);
    expect(await refusal(ada!.client, "get_note", { key: "big", version: 0 })).toMatch(
      /`version`.*1 or more/,
    );
    expect(
      await refusal(ada!.client, "put_note", { key: "v", content: "x", expected_version: -1 }),
    ).toMatch(/`expected_version`/);
    expect(
      await refusal(ada!.client, "put_note", { key: "v", content: "x", expected_version: 1.5 }),
    ).toMatch(/`expected_version`.*whole number/);
    expect(
      await refusal(ada!.client, "put_note", { key: "v", content: "x", expected_version: 3 }),
    ).toMatch(/^VERSION_CONFLICT: .*does not exist/);
    expect(
      await refusal(ada!.client, "put_note", { key: "v", content: "x", ttl_seconds: 0 }),
    ).toMatch(/`ttl_seconds`.*at least 1/);
    await call(ada!.client, "put_note", { key: "v", content: "x" });
    expect(await refusal(ada!.client, "get_note", { key: "v", version: 9 })).toMatch(
      /^NOT_FOUND: note 'v' has no version 9: it is at version 1/,
    );
    expect(
      await refusal(ada!.client, "put_note", { key: "v", content: "y", expected_version: 0 }),
    ).toMatch(/^VERSION_CONFLICT: .*at version 1, by b-ada/);
    const stranger = await connectLegacy(fixture.serve.url);
    expect(await refusal(stranger, "get_note", { key: "v" })).toMatch(/^UNAUTHENTICATED/);
  });

  it("serves `switchboard notes` list, get, put (stdin and --file) and history", async () => {
    const { env } = fixture;
    const put = await run(
      ["notes", "put", "cli/plan", "--author", "ops", "--json"],
      env,
      "step 1\n",
    );
    expect(put.stderr).toBe("");
    expect(JSON.parse(put.stdout)).toMatchObject({ key: "cli/plan", version: 1 });
    const stale = await run(["notes", "put", "cli/plan", "--expected-version", "0"], env, "x");
    expect(stale.code).not.toBe(0);
    expect(stale.stderr).toMatch(/at version 1, by ops/);
    const second = await run(
      ["notes", "put", "cli/plan", "--expected-version", "1"],
      env,
      "step 2\n",
    );
    expect(second.stdout).toMatch(/note cli\/plan is at version 2/);
    const got = await run(["notes", "get", "cli/plan"], env);
    expect(got.stdout).toBe("step 2\n");
    const first = await run(["notes", "get", "cli/plan", "1", "--json"], env);
    expect(JSON.parse(first.stdout)).toMatchObject({
      version: 1,
      content: "step 1\n",
      updated_by: "ops",
    });
    const list = await run(["notes", "list", "cli/"], env);
    expect(list.stdout).toMatch(/^key +version +by +age +expires$/m);
    expect(list.stdout).toMatch(/^cli\/plan +2 +operator +\S+ +never$/m);
    const file = join(dirname(fixture.pipeline), "contract.md");
    await writeFile(file, "POST /login\n");
    const fromFile = await run(
      ["notes", "put", "cli/contract", "--file", file, "--ttl", "600"],
      env,
    );
    expect(fromFile.stdout).toMatch(/note cli\/contract is at version 1/);
    expect((await run(["notes", "get", "cli/contract"], env)).stdout).toBe("POST /login\n");
    const history = await run(["notes", "history", "cli/plan"], env);
    expect(history.stdout).toMatch(/^note cli\/plan: version 2, 2 versions kept/);
    expect(history.stdout).toMatch(/^ +1 +ops +/m);
    const bad = await run(["notes", "get", "bad key"], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/note key/);
  });
});
