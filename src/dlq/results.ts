import { isMessageId } from "../protocol/ids.js";

/** What replay and purge did, per dead letter and in all. */

export type ReplayOutcome = "replayed" | "already_replayed" | "not_found" | "unreplayable";
export type PurgeOutcome = "purged" | "not_found";

export interface ReplayResult {
  /** The dead letter (or, with `not_found`, a message id given that has none). */
  id: string;
  /** The message id it was named by, when a message id was given rather than its id. */
  message_id?: string;
  result: ReplayOutcome;
  /** The entry it became in its stage's stream (replayed, already replayed). */
  entry_id?: string;
  /** When it was replayed, ISO 8601. */
  replayed_at?: string;
  /** Why it cannot be replayed (unreplayable). */
  reason?: string;
}

export interface PurgeResult {
  id: string;
  /** The message id it was named by, when a message id was given rather than its id. */
  message_id?: string;
  result: PurgeOutcome;
}

/** How many of a bulk action ended each way. */
export type Tally<R extends string> = Record<R, number>;

export const noReplays = (): Tally<ReplayOutcome> => ({
  replayed: 0,
  already_replayed: 0,
  not_found: 0,
  unreplayable: 0,
});
export const noPurges = (): Tally<PurgeOutcome> => ({ purged: 0, not_found: 0 });

/** Adds results to a tally; returns it. */
export function addUp<R extends string>(
  tally: Tally<R>,
  results: readonly { result: R }[],
): Tally<R> {
  for (const { result } of results) tally[result] += 1;
  return tally;
}

/** A reply of `sbDlqReplay` for one id. */
export function toReplayResult(id: string, reply: string[]): ReplayResult {
  const [result, detail, at] = reply as [ReplayOutcome, string?, string?];
  switch (result) {
    case "replayed":
    case "already_replayed":
      return {
        id,
        result,
        entry_id: detail,
        replayed_at: at === undefined ? undefined : new Date(Number(at)).toISOString(),
      };
    case "unreplayable":
      return { id, result, reason: detail };
    default:
      return { id, result };
  }
}

/**
 * What was not found, by the kind of id given: `no dead letter 1-0, 2-0; no dead letters of
 * message M` (a message id that names none is reported under its own id).
 */
export function describeMissing(ids: readonly string[]): string {
  const letters = ids.filter((id) => !isMessageId(id));
  const messages = ids.filter(isMessageId);
  return [
    ...(letters.length === 0 ? [] : [`no dead letter ${letters.join(", ")}`]),
    ...(messages.length === 0 ? [] : [`no dead letters of message ${messages.join(", ")}`]),
  ].join("; ");
}

/** The dead letters each message id given named, in the order of the results. */
export function namedByMessage(
  results: readonly { id: string; message_id?: string | undefined }[],
): Map<string, string[]> {
  const byMessage = new Map<string, string[]>();
  for (const r of results) {
    // A message id with no dead letters comes back as a result of its own id.
    if (r.message_id === undefined || r.message_id === r.id) continue;
    byMessage.set(r.message_id, [...(byMessage.get(r.message_id) ?? []), r.id]);
  }
  return byMessage;
}
