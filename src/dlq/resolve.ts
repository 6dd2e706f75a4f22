import { sendCommands } from "../redis/batch.js";
import type { RedisClient } from "../redis/client.js";
import { SwitchboardError } from "../protocol/errors.js";
import { isMessageId } from "../protocol/ids.js";
import {
  DEAD_LETTER_ID_SHAPE,
  formatDeadLetterId,
  isDeadLetterId,
  parseDeadLetterId,
  type DeadLetterRef,
} from "../protocol/dead-letter-id.js";
import type { Keys } from "../redis/keys.js";
import { compareStreamIds } from "../redis/stream-ids.js";
import { oldestFirst } from "./partition.js";

/**
 * Dead letters named by id: a dead-letter id (what `dlq list` shows: a stream id, naming
 * its partition when there are several, see protocol/dead-letter-id.ts) names itself; a
 * message id (a UUIDv7, what senders and `get_message` know) names every dead letter of
 * that message, one per recipient that gave up, found through the index the committer
 * writes with each dead letter (`Keys.deadLettersOf`), never by a scan. That index is in
 * the partition of the message's thread, which a message id alone does not tell (its
 * record may be gone, or it never had a valid thread), so every partition is asked.
 */

/** What one id given to show, replay or purge names. */
export interface Resolved {
  /** The id as given. */
  given: string;
  /** `message`: `given` is a message id, resolved through the index of its dead letters. */
  kind: "dead_letter" | "message";
  /** The dead-letter ids it names that are in the store (a dead-letter id: itself, unchecked). */
  dead_letters: string[];
  /** A message's dead letters replayed already: gone from the store, their replay marker kept. */
  replayed: string[];
}

/** An id as an error message quotes it: a hostile one may be long. */
const shown = (id: string): string => (id.length > 48 ? `${id.slice(0, 48)}…` : id);

/** Refuses ids that are not dead-letter ids, naming the first and the field. */
export function checkIds(ids: readonly string[], field = "ids"): void {
  const bad = ids.find((id) => !isDeadLetterId(id));
  if (bad !== undefined) {
    throw new SwitchboardError("INVALID_INPUT", `'${shown(bad)}' is not ${DEAD_LETTER_ID_SHAPE}`, {
      field,
      hint: "listDeadLetters",
    });
  }
}

/** Refuses ids that are neither dead-letter ids nor message ids, naming the first. */
export function checkNames(ids: readonly string[], field = "ids"): void {
  const bad = ids.find((id) => !isDeadLetterId(id) && !isMessageId(id));
  if (bad !== undefined) {
    throw new SwitchboardError(
      "INVALID_INPUT",
      `'${shown(bad)}' is not ${DEAD_LETTER_ID_SHAPE}, nor a message id (a lowercase UUIDv7, as send_message and get_message show it)`,
      { field },
    );
  }
}

/**
 * The partition and entry a dead-letter id names, refusing (naming the field) one that
 * is malformed or names a partition the pipeline does not have.
 */
export function refOf(id: string, partitions: number, field = "ids"): DeadLetterRef {
  checkIds([id], field);
  const ref = parseDeadLetterId(id)!;
  if (ref.partition < partitions) return ref;
  const exist =
    partitions === 1 ? "only partition 0 exists" : `partitions 0 to ${partitions - 1} exist`;
  throw new SwitchboardError(
    "INVALID_INPUT",
    `'${shown(id)}' names partition ${ref.partition}, but ${exist} (the pipeline's \`partitions: ${partitions}\`)`,
    { field, hint: "listDeadLetters" },
  );
}

/** The dead letters of some messages in one partition, by entry id. */
export interface MessageLetters {
  /** Those in the store, oldest first. */
  dead_letters: string[];
  /** Those replayed already: gone from the store, their replay marker kept. */
  replayed: string[];
}

/**
 * The dead letters of each message in one partition (`keys`, `stream`), oldest first,
 * through the index the committer writes with each dead letter. Index entries whose dead
 * letter is gone for good (purged, trimmed, or replayed so long ago that its marker
 * expired) are dropped on the way.
 */
async function lettersOfMessages(
  redis: RedisClient,
  keys: Keys,
  stream: string,
  messages: readonly string[],
): Promise<Map<string, MessageLetters>> {
  const found = new Map<string, MessageLetters>();
  if (messages.length === 0) return found;
  const members = await Promise.all(messages.map((m) => redis.smembers(keys.deadLettersOf(m))));
  const states = await statesOf(redis, keys, stream, members.flat());
  await sendCommands(redis, (stale) => {
    messages.forEach((message, i) => {
      const own = [...members[i]!].sort(compareStreamIds);
      const gone = own.filter((id) => states.get(id) === "gone");
      if (gone.length > 0) stale.srem(keys.deadLettersOf(message), ...gone);
      found.set(message, {
        dead_letters: own.filter((id) => states.get(id) === "stored"),
        replayed: own.filter((id) => states.get(id) === "replayed"),
      });
    });
  });
  return found;
}

/**
 * What each id names: a dead-letter id itself (as the store names it: see
 * {@link formatDeadLetterId}), a message id its dead letters in every partition (`parts`,
 * by number), oldest first.
 */
export async function resolveIds(
  redis: RedisClient,
  parts: readonly { keys: Keys; stream: string }[],
  ids: readonly string[],
  field = "ids",
): Promise<Resolved[]> {
  checkNames(ids, field);
  const count = parts.length;
  const idOf = (partition: number, entry: string) =>
    formatDeadLetterId({ partition, entry }, count);
  const direct = new Map(
    ids.filter((id) => !isMessageId(id)).map((id) => [id, refOf(id, count, field)]),
  );
  const messages = [...new Set(ids.filter(isMessageId))];
  const found = await Promise.all(
    parts.map((part) => lettersOfMessages(redis, part.keys, part.stream, messages)),
  );
  const merged = (message: string, which: keyof MessageLetters) =>
    found
      .flatMap((own, partition) =>
        (own.get(message)?.[which] ?? []).map((id) => ({ partition, summary: { id } })),
      )
      .sort(oldestFirst)
      .map(({ partition, summary }) => idOf(partition, summary.id));
  return ids.map((given): Resolved => {
    const ref = direct.get(given);
    if (ref !== undefined) {
      const id = idOf(ref.partition, ref.entry);
      return { given, kind: "dead_letter", dead_letters: [id], replayed: [] };
    }
    const [dead_letters, replayed] = [merged(given, "dead_letters"), merged(given, "replayed")];
    return { given, kind: "message", dead_letters, replayed };
  });
}

type State = "stored" | "replayed" | "gone";

/** Whether each dead letter is in the store, was replayed (marker kept), or is gone. */
async function statesOf(
  redis: RedisClient,
  keys: Keys,
  stream: string,
  ids: readonly string[],
): Promise<Map<string, State>> {
  if (ids.length === 0) return new Map();
  const replies = await sendCommands(redis, (batch) => {
    for (const id of ids) batch.xrange(stream, id, id).exists(keys.deadLetterReplayed(id));
  });
  return new Map(
    ids.map((id, i): [string, State] => {
      const [[readError, entries], [markError, marked]] = [replies[2 * i]!, replies[2 * i + 1]!];
      if (readError) throw readError;
      if (markError) throw markError;
      if ((entries as unknown[]).length > 0) return [id, "stored"];
      return [id, marked === 1 ? "replayed" : "gone"];
    }),
  );
}

/** A dead letter an id given names; `none` stands for a message id with no dead letters. */
export interface Target {
  id: string;
  /** The message id that named it, if one did. */
  message_id?: string | undefined;
  none: boolean;
}

/**
 * The dead letters the ids name, each once, in the order given: a message id stands for
 * its dead letters (`withReplayed`: those replayed already too), or for nothing (`none`).
 */
export async function targetsOf(
  store: { resolve(ids: readonly string[]): Promise<Resolved[]> },
  ids: readonly string[],
  withReplayed: boolean,
): Promise<Target[]> {
  const seen = new Set<string>();
  const targets: Target[] = [];
  for (const r of await store.resolve(ids)) {
    const message_id = r.kind === "message" ? r.given : undefined;
    const letters = withReplayed ? [...r.dead_letters, ...r.replayed] : r.dead_letters;
    if (letters.length === 0) targets.push({ id: r.given, message_id, none: true });
    for (const id of letters) {
      if (seen.has(id)) continue;
      seen.add(id);
      targets.push({ id, message_id, none: false });
    }
  }
  return targets;
}

/** A result, naming the message id it was found by. */
export function named<R extends { id: string }>(
  target: Target,
  result: R,
): R & { message_id?: string } {
  return target.message_id === undefined ? result : { ...result, message_id: target.message_id };
}
