import { createHash } from "node:crypto";
import type { Envelope } from "./envelope.js";

/**
 * What an idempotency key remembers: the first message's id and thread, and a hash of its
 * body, so a retry is recognised (same body: the first message again) or refused
 * (another body) without reading the first message back.
 */
export interface IdempotencyClaim {
  message_id: string;
  thread_id: string;
  body_sha256: string;
}

export function claimOf(envelope: Envelope): IdempotencyClaim {
  return {
    message_id: envelope.id,
    thread_id: envelope.thread_id,
    body_sha256: createHash("sha256").update(JSON.stringify(envelope.body)).digest("hex"),
  };
}

/** The stored form: three words (ids and hashes have no spaces). */
export function formatClaim(claim: IdempotencyClaim): string {
  return `${claim.message_id} ${claim.thread_id} ${claim.body_sha256}`;
}

export function parseClaim(value: string): IdempotencyClaim {
  const [message_id = "", thread_id = "", body_sha256 = ""] = value.split(" ");
  return { message_id, thread_id, body_sha256 };
}
