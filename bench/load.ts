import { setTimeout as delay } from "node:timers/promises";
import type { Ingress } from "../src/ingress/ingress.js";
import { composeEnvelope } from "../src/protocol/compose.js";
import type { Envelope } from "../src/protocol/envelope.js";
import { idMs } from "./redis-tools.js";

/** Envelopes appended per round trip when producing as fast as possible. */
export const PRODUCE_BATCH = 500;
/** The pacing tick at a fixed rate. */
const TICK_MS = 10;

/**
 * `count` messages from `bench-sender`, one recipient each, spread over `agent-0..agents-1`,
 * with a body of exactly `bodyBytes` bytes as JSON (the padding string is shared).
 */
export function composeMessages(
  count: number,
  agents: number,
  bodyBytes: number,
  tag: string,
): Envelope[] {
  const seqWidth = String(count).length;
  const overhead = JSON.stringify({ seq: `${tag}${"0".repeat(seqWidth)}`, pad: "" }).length;
  const pad = "x".repeat(Math.max(0, bodyBytes - overhead));
  return Array.from({ length: count }, (_, i) =>
    composeEnvelope({
      from: "bench-sender",
      to: [`agent-${i % agents}`],
      body: { seq: `${tag}${String(i).padStart(seqWidth, "0")}`, pad },
    }),
  );
}

/** Accepted messages: message id → the Redis clock (ms) of its ingress entry. */
export type AcceptedTimes = Map<string, number>;

async function append(ingress: Ingress, batch: readonly Envelope[], into: AcceptedTimes) {
  for (const accepted of await ingress.acceptMany(batch)) {
    into.set(accepted.message_id, idMs(accepted.stream_id));
  }
}

/** Appends everything in back-to-back batches, one round trip each. */
export async function produceFlat(
  ingress: Ingress,
  envelopes: readonly Envelope[],
): Promise<AcceptedTimes> {
  const accepted: AcceptedTimes = new Map();
  for (let i = 0; i < envelopes.length; i += PRODUCE_BATCH) {
    await append(ingress, envelopes.slice(i, i + PRODUCE_BATCH), accepted);
  }
  return accepted;
}

/**
 * Appends at a fixed rate: every tick, the messages due by the end of that tick, in one
 * round trip. Falls behind (and catches up) only if Redis or this process cannot keep up.
 */
export async function producePaced(
  ingress: Ingress,
  envelopes: readonly Envelope[],
  perSecond: number,
): Promise<AcceptedTimes> {
  const accepted: AcceptedTimes = new Map();
  const start = performance.now();
  let sent = 0;
  for (let tick = 1; sent < envelopes.length; tick += 1) {
    const due = Math.min(envelopes.length, Math.round((tick * TICK_MS * perSecond) / 1000));
    if (due > sent) {
      await append(ingress, envelopes.slice(sent, due), accepted);
      sent = due;
    }
    const wait = start + tick * TICK_MS - performance.now();
    if (wait > 0) await delay(wait);
  }
  return accepted;
}
