import { expect } from "vitest";
import { eventually } from "./harness.js";
import { call, callRaw, textOf, type Fetched, type McpClient } from "./mcp.js";

/** What put_note returns. */
export interface PutResult {
  key: string;
  version: number;
  updated_at: string;
  expires_at: string | null;
}

/** A note as get_note returns it. */
export interface NoteResult extends PutResult {
  content: string;
  updated_by: string;
}

export interface Writer {
  name: string;
  client: McpClient;
}

/**
 * Compare-and-set under concurrent writers, for `rounds` rounds: each round every writer
 * reads the note's version, then all put with that `expected_version` at once. Exactly one
 * wins; every other is refused with VERSION_CONFLICT naming the winner's version and name.
 * Returns the winners, round by round.
 */
export async function casRounds(writers: readonly Writer[], key: string, rounds: number) {
  const first = await call<PutResult>(writers[0]!.client, "put_note", {
    key,
    content: "round 0",
    expected_version: 0,
  });
  expect(first.version).toBe(1);
  const winners: string[] = [];
  for (let round = 1; round <= rounds; round++) {
    const read = await Promise.all(
      writers.map((w) => call<NoteResult>(w.client, "get_note", { key })),
    );
    const version = read[0]!.version;
    expect(read.map((r) => r.version)).toEqual(writers.map(() => version));
    const results = await Promise.all(
      writers.map((w) =>
        callRaw(w.client, "put_note", {
          key,
          content: `round ${round} by ${w.name}`,
          expected_version: version,
        }),
      ),
    );
    const won = results.flatMap((r, i) => (r.isError === true ? [] : [writers[i]!.name]));
    expect(won, `round ${round}`).toHaveLength(1);
    const winner = won[0]!;
    winners.push(winner);
    for (const [i, result] of results.entries()) {
      if (writers[i]!.name === winner) {
        expect(result.structuredContent).toMatchObject({ key, version: version + 1 });
      } else {
        expect(textOf(result)).toMatch(
          new RegExp(`^VERSION_CONFLICT: .*at version ${version + 1}, by ${winner};`),
        );
        expect(result).toMatchObject({
          _meta: {
            "switchboard/error": {
              code: "VERSION_CONFLICT",
              current_version: version + 1,
              updated_by: winner,
            },
          },
        });
      }
    }
    const latest = await call<NoteResult>(writers[0]!.client, "get_note", { key });
    expect(latest).toMatchObject({
      version: version + 1,
      content: `round ${round} by ${winner}`,
      updated_by: winner,
    });
  }
  return winners;
}

/**
 * A subscriber of `switchboard.notes` learns of a change from the digest of its next call,
 * and fetches a message naming the key, version and author.
 */
export async function expectNoteNotice(
  subscriber: McpClient,
  writer: Writer,
  key: string,
): Promise<void> {
  await call(subscriber, "subscribe_topic", { topic: "switchboard.notes" });
  const written = await call<PutResult>(writer.client, "put_note", { key, content: "v" });
  await eventually(async () => {
    const listed = await call<{ inbox: { unread: number } }>(subscriber, "list_notes", {});
    return listed.inbox.unread > 0;
  });
  const fetched = await call<Fetched>(subscriber, "fetch_inbox", { wait_seconds: 10 });
  expect(fetched.messages).toEqual([
    expect.objectContaining({
      from: "switchboard",
      type: "switchboard.note_changed",
      body: {
        key,
        version: written.version,
        author: writer.name,
        updated_at: written.updated_at,
      },
    }),
  ]);
}

/** A late joiner reads the latest version and every version's author, newest first. */
export async function expectHistory(reader: McpClient, key: string, authors: readonly string[]) {
  const history = await call<{
    version: number;
    versions: { version: number; updated_by: string }[];
  }>(reader, "note_history", { key });
  expect(history.version).toBe(authors.length);
  expect(history.versions.map((v) => [v.version, v.updated_by])).toEqual(
    authors.map((a, i) => [i + 1, a]).reverse(),
  );
}
