/**
 * The work of the four hops in the peer chains of `npm run bench -- --peers` (BullMQ and
 * NATS JetStream), the same in both: validate checks the decoded envelope against the
 * schema Switchboard's ingress uses; route picks the recipient; deliver appends to the
 * recipient's inbox and persist writes a status (each peer in its own store). Every hop
 * gets the message decoded from the previous one and hands it on encoded again.
 */
import { EnvelopeSchema, type Envelope } from "../src/protocol/envelope.js";

export const HOPS = ["validate", "route", "deliver", "persist"] as const;
export type HopName = (typeof HOPS)[number];

/** What a hop after validate receives: the envelope and, from route on, its recipient. */
export interface Routed {
  envelope: Envelope;
  recipient: string;
}

/** The status persist writes: when the message was done (this host's clock, ms). */
export interface Status {
  id: string;
  status: "persisted";
  recipient: string;
  at: number;
}

/** Validate: the decoded body must be an envelope; throws naming the field otherwise. */
export function validate(decoded: unknown): Envelope {
  return EnvelopeSchema.parse(decoded);
}

/** Route: the first named recipient (the benchmark's messages name one each). */
export function route(envelope: Envelope): Routed {
  if (envelope.to.kind !== "agents") {
    throw new Error(`message ${envelope.id}: the peer chains route only to named agents`);
  }
  return { envelope, recipient: envelope.to.agents[0]! };
}

/** Persist: the status record of a delivered message. */
export function status(routed: Routed): Status {
  return {
    id: routed.envelope.id,
    status: "persisted",
    recipient: routed.recipient,
    at: Date.now(),
  };
}

/** The next hop of each; persist is the last. */
export function nextHop(hop: HopName): HopName | undefined {
  return HOPS[HOPS.indexOf(hop) + 1];
}
