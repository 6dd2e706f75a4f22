import { sendAndRead } from "../redis/batch.js";
import type { RedisClient } from "../redis/client.js";
import type { Keys } from "../redis/keys.js";
import { SwitchboardError } from "../protocol/errors.js";
import { MAX_NOTES_LISTED, NOTE_HISTORY_VERSIONS, noteNotFound } from "../protocol/note.js";
import {
  NoteField,
  noteHistoryScript,
  notePutScript,
  noteReadScript,
  notesPruneScript,
} from "./scripts.js";

/** One version of a note, as get_note returns it. */
export interface NoteView {
  key: string;
  version: number;
  content: string;
  updated_by: string;
  updated_at: string;
  /** When the whole note expires; null for never. */
  expires_at: string | null;
}

/** A note in a listing: its latest version's facts, without the content. */
export type NoteSummary = Omit<NoteView, "content">;

export interface NoteVersion {
  version: number;
  updated_by: string;
  updated_at: string;
  /** The content's size in bytes (UTF-8). */
  bytes: number;
}

export interface NoteHistory {
  key: string;
  /** The current version. */
  version: number;
  expires_at: string | null;
  /** The kept versions, newest first. */
  versions: NoteVersion[];
}

export interface PutNote {
  key: string;
  content: string;
  expected_version?: number | undefined;
  ttl_seconds?: number | undefined;
}

export interface Written {
  key: string;
  version: number;
  updated_at: string;
  expires_at: string | null;
}

const iso = (ms: number | string): string => new Date(Number(ms)).toISOString();
/** An expiry time from a PTTL reply, read at `now`: null for a note that never expires. */
const expiry = (pttl: number, now: number): string | null => (pttl < 0 ? null : iso(now + pttl));

/**
 * Shared notes in Redis: each note one hash under its own hash tag (`{n:KEY}`), written by
 * a compare-and-set script, with its last {@link NOTE_HISTORY_VERSIONS} versions; and a
 * directory (`{dir}:notes`) for listing, written after the note in a separate call (it is
 * in another slot on a cluster), which listing holds loosely: an entry whose note expired
 * is skipped and pruned.
 */
export class Notes {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    /** The most bytes a note's content may have: the pipeline's `limits.maxBodyBytes`. */
    private readonly maxBytes: number,
  ) {}

  async put(author: string, input: PutNote): Promise<Written> {
    const bytes = Buffer.byteLength(input.content, "utf8");
    if (bytes > this.maxBytes) {
      throw new SwitchboardError(
        "TOO_LARGE",
        `\`content\` is ${bytes} bytes, over the limit of ${this.maxBytes} (limits.maxBodyBytes); split the note into several keys (such as \`${input.key}/part-2\`), or keep a link to the data`,
        { field: "content" },
      );
    }
    const reply = await notePutScript.run(this.redis, {
      keys: this.keys,
      key: input.key,
      author,
      content: input.content,
      expectedVersion: input.expected_version,
      ttlMs: input.ttl_seconds === undefined ? undefined : input.ttl_seconds * 1000,
      keep: NOTE_HISTORY_VERSIONS,
    });
    if (reply[0] === 0) throw versionConflict(input, reply[1], String(reply[2]));
    const [version, at, pttl] = reply as [number, number, number];
    // Only ever raised: a late write of an older version does not lower the score that
    // pruning compares against.
    await this.redis.zadd(this.keys.notes(), "GT", at, input.key);
    return { key: input.key, version, updated_at: iso(at), expires_at: expiry(pttl, at) };
  }

  async get(key: string, version?: number): Promise<NoteView> {
    const reply = await noteReadScript.run(this.redis, {
      keys: this.keys,
      key,
      ...(version === undefined ? {} : { version }),
    });
    if (reply.length === 0) throw noteNotFound(key);
    if (reply[0] === 0) throw versionNotKept(key, version ?? 0, Number(reply[1]));
    const [v, content, by, at, pttl] = reply as [number, string, string, string, number];
    return {
      key,
      version: v,
      content,
      updated_by: by,
      updated_at: iso(at),
      expires_at: expiry(pttl, Date.now()),
    };
  }

  async history(key: string): Promise<NoteHistory> {
    const reply = await noteHistoryScript.run(this.redis, {
      keys: this.keys,
      key,
      keep: NOTE_HISTORY_VERSIONS,
    });
    if (reply.length === 0) throw noteNotFound(key);
    const [current, pttl, ...rest] = reply;
    const versions: NoteVersion[] = [];
    for (let i = 0; i + 3 < rest.length; i += 4) {
      versions.push({
        version: Number(rest[i]),
        updated_by: String(rest[i + 1]),
        updated_at: iso(rest[i + 2]!),
        bytes: Number(rest[i + 3]),
      });
    }
    return {
      key,
      version: Number(current),
      expires_at: expiry(Number(pttl), Date.now()),
      versions,
    };
  }

  /**
   * The notes whose key starts with `prefix`, by key, at most {@link MAX_NOTES_LISTED}.
   * Directory entries whose note is gone (expired) are left out and pruned.
   */
  async list(prefix = ""): Promise<{ notes: NoteSummary[]; truncated: boolean }> {
    const flat = await this.redis.zrange(this.keys.notes(), 0, -1, "WITHSCORES");
    const entries: [string, string][] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      if (flat[i]!.startsWith(prefix)) entries.push([flat[i]!, flat[i + 1]!]);
    }
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const now = Date.now();
    const read = await sendAndRead(this.redis, (batch) => {
      for (const [key] of entries.slice(0, MAX_NOTES_LISTED + 1)) {
        const note = this.keys.note(key);
        batch.hmget(note, NoteField.version, NoteField.updatedBy, NoteField.updatedAt);
        batch.pttl(note);
      }
      return (replies) =>
        entries.slice(0, MAX_NOTES_LISTED + 1).map(([key, score], i) => {
          const [error, fields] = replies[2 * i]!;
          const [, pttl] = replies[2 * i + 1]!;
          if (error !== null) throw error;
          const [version, by, at] = fields as (string | null)[];
          return { key, score, version, by, at, pttl: Number(pttl) };
        });
    });
    const stale = read.filter((r) => r.version === null).map((r) => [r.key, r.score] as const);
    if (stale.length > 0) await notesPruneScript.run(this.redis, { keys: this.keys, stale });
    const notes = read
      .filter((r) => r.version !== null)
      .map((r) => ({
        key: r.key,
        version: Number(r.version),
        updated_by: r.by ?? "",
        updated_at: iso(r.at ?? 0),
        expires_at: expiry(r.pttl, now),
      }));
    return {
      notes: notes.slice(0, MAX_NOTES_LISTED),
      truncated: notes.length > MAX_NOTES_LISTED,
    };
  }
}

function versionConflict(input: PutNote, current: number, author: string): SwitchboardError {
  const now =
    current === 0
      ? "the note does not exist (yet, or any more)"
      : `it is at version ${current}, by ${author}`;
  return new SwitchboardError(
    "VERSION_CONFLICT",
    `note '${input.key}' changed: you expected version ${input.expected_version}, ${now}; get_note it, merge your change into that version and put_note again with expected_version ${current}`,
    {
      field: "expected_version",
      data: { key: input.key, current_version: current, updated_by: author },
    },
  );
}

function versionNotKept(key: string, version: number, current: number): SwitchboardError {
  return new SwitchboardError(
    "NOT_FOUND",
    version > current
      ? `note '${key}' has no version ${version}: it is at version ${current}; leave \`version\` out for the latest`
      : `version ${version} of note '${key}' is no longer kept (the last ${NOTE_HISTORY_VERSIONS} are); note_history lists those there are`,
    { field: "version" },
  );
}
