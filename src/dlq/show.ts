import type { DeadLetter } from "./partition.js";
import type { Resolved } from "./resolve.js";
import type { DeadLetters } from "./store.js";

/** One dead letter, or a message's: what `dlq show --json` prints and the console shows. */
export type Shown =
  | { kind: "dead_letter"; dead_letter: DeadLetter }
  | {
      kind: "message";
      message_id: string;
      dead_letters: DeadLetter[];
      /** Its dead letters replayed already (ids). */
      replayed: string[];
    };

/**
 * A dead letter by its id, or a message's dead letters by the message id; undefined when
 * the id names none (replayed or purged already, trimmed, or mistyped). A malformed id is
 * INVALID_INPUT naming `field`.
 */
export async function showDeadLetter(
  store: DeadLetters,
  id: string,
  field = "id",
): Promise<Shown | undefined> {
  const [named] = (await store.resolve([id], field)) as [Resolved];
  const found = (await Promise.all(named.dead_letters.map((d) => store.get(d)))).filter(
    (d): d is DeadLetter => d !== undefined,
  );
  if (named.kind === "dead_letter") {
    return found[0] === undefined ? undefined : { kind: "dead_letter", dead_letter: found[0] };
  }
  if (found.length === 0 && named.replayed.length === 0) return undefined;
  return { kind: "message", message_id: id, dead_letters: found, replayed: named.replayed };
}

/** The JSON of what was shown: the dead letter itself, or `{message_id, dead_letters, replayed}`. */
export function shownJson(shown: Shown): object {
  if (shown.kind === "dead_letter") return shown.dead_letter;
  const { message_id, dead_letters, replayed } = shown;
  return { message_id, dead_letters, replayed };
}
