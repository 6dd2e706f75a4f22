import type { RedisClient } from "../redis/client.js";
import type { Ingress } from "../ingress/ingress.js";
import {
  Notes,
  type NoteHistory,
  type NoteSummary,
  type NoteView,
  type PutNote,
  type Written,
} from "../notes/notes.js";
import { toErrorInfo } from "../protocol/errors.js";
import { NOTE_CHANGED_TYPE, NOTES_TOPIC } from "../protocol/note.js";
import type { Keys } from "../redis/keys.js";
import type { Logger } from "../telemetry/log.js";
import { publishOnTopic } from "./topic.js";

/**
 * Shared notes for agents: the store, and the announcement of each change on topic
 * `switchboard.notes` (key, version, author), so subscribers learn of it from their inbox
 * digest. A late joiner reads the latest version and the history from the store. Notes
 * are shared: any agent reads any.
 */
export class NoteBoard {
  readonly #store: Notes;
  readonly #deps: { redis: RedisClient; keys: Keys; ingress: Ingress };
  readonly #log: Logger;

  constructor(redis: RedisClient, keys: Keys, ingress: Ingress, maxBytes: number, log: Logger) {
    this.#store = new Notes(redis, keys, maxBytes);
    this.#deps = { redis, keys, ingress };
    this.#log = log;
  }

  /** A note's latest version, or an earlier kept one. */
  get(key: string, version?: number): Promise<NoteView> {
    return this.#store.get(key, version);
  }

  list(prefix?: string): Promise<{ notes: NoteSummary[]; truncated: boolean }> {
    return this.#store.list(prefix);
  }

  history(key: string): Promise<NoteHistory> {
    return this.#store.history(key);
  }

  /**
   * Writes the note as `author` (compare-and-set with `expected_version`), then announces it. The write stands whatever the announcement does:
   * a failed one is logged, not thrown, since a writer told "failed" would retry with a
   * version that is stale by its own write.
   */
  async put(author: string, input: PutNote): Promise<Written> {
    const written = await this.#store.put(author, input);
    try {
      await publishOnTopic(this.#deps, NOTES_TOPIC, [
        {
          type: NOTE_CHANGED_TYPE,
          subject: `note ${written.key} is at version ${written.version}, by ${author}`,
          body: {
            key: written.key,
            version: written.version,
            author,
            updated_at: written.updated_at,
          },
        },
      ]);
    } catch (error) {
      this.#log.warn("could not announce a note change", {
        key: written.key,
        version: written.version,
        error: toErrorInfo(error),
      });
    }
    return written;
  }
}
