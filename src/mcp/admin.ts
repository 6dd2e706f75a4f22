import { describeMissing, namedByMessage } from "../dlq/results.js";
import { SwitchboardError } from "../protocol/errors.js";
import type { Switchboard } from "../service/switchboard.js";
import type { Caller } from "./identity.js";

/** Refuses a caller that is not an admin agent, naming how an operator makes it one. */
export async function requireAdmin(service: Switchboard, caller: Caller, tool: string) {
  if (await service.isAdmin(caller.agent)) return;
  throw new SwitchboardError(
    "FORBIDDEN",
    `${tool} is an admin tool and '${caller.agent}' is not an admin agent; ` +
      `an operator with access to Redis grants it: \`switchboard agents admin ${caller.agent}\``,
  );
}

type Named = { id: string; message_id?: string | undefined; result: string };

/** `; no dead letter 1-0, 2-0 (…)` for the ids not found, naming the fix; else nothing. */
export function missingText(results: readonly Named[]): string {
  const missing = results.filter((r) => r.result === "not_found").map((r) => r.id);
  return missing.length === 0
    ? ""
    : `; ${describeMissing(missing)} (replayed or purged already, trimmed, or mistyped; dlq_list shows the ids)`;
}

/** ` (message M: 1-0, 2-0)` for each message id given that named dead letters; else nothing. */
export function namedText(results: readonly Named[]): string {
  const parts = [...namedByMessage(results)].map(
    ([message, ids]) => `message ${message}: ${ids.join(", ")}`,
  );
  return parts.length === 0 ? "" : ` (${parts.join("; ")})`;
}
