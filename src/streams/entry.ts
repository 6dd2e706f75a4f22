import type { StageName } from "../config/pipeline.js";
import { encodeEnvelope, type CodecLimits } from "../protocol/codec.js";
import type { Envelope } from "../protocol/envelope.js";

/** Dead-letter entries keep the original fields under this prefix, for replay. */
export const ORIGINAL_PREFIX = "o.";

/** Field names of stage-stream entries. Short, because every entry repeats them. */
export const Field = {
  /** What the entry is: `msg` (validate, route), `rcpt` (deliver), `status` (persist). */
  kind: "t",
  messageId: "mid",
  /** An envelope carried in the entry: only from producers that bypass the front end. */
  encoding: "enc",
  envelope: "env",
  /** One recipient (deliver entries, per-recipient statuses). */
  recipient: "rcpt",
  /** Several recipients, JSON array (a `queued` status for all of them). */
  recipients: "rcpts",
  /** The routing header validate reads off the envelope, so later stages need not decode it. */
  from: "from",
  /** The target, as JSON. */
  target: "to",
  type: "type",
  /** The thread and the place in it. */
  threadId: "th",
  seq: "seq",
  /** The message this one answers, so deliver can note a reply without decoding. */
  replyTo: "rt",
  /** `expires_at` as epoch ms, so deliver can check expiry without decoding. */
  expiresAt: "exp",
  /** A status for persist: a RecipientStatus or MessageStatus. */
  status: "s",
  /** An ErrorInfo as JSON. */
  error: "why",
  stage: "stage",
  /** How many times the entry was handed out (dead letters). */
  deliveries: "n",
  /** The id of the entry in the stream it died in (dead letters). */
  sourceId: "src",
  /** The id of the inbox entry a message was delivered as. */
  inboxId: "x",
  /** Where a retry stands, as JSON {@link RetryState} (a `retrying` status for persist). */
  retry: "retry",
  /** Dead letters: the error code and category, for filters without parsing `why`. */
  code: "code",
  category: "cat",
  /** Dead letters: first and last failure, epoch ms. */
  firstFailure: "first",
  lastFailure: "last",
  /** Dead letters: every failed attempt, JSON [{ at, code, message }]. */
  attempts: "hist",
  /** Dead letters: the trace id of the message, hex. */
  traceId: "trace",
  /**
   * W3C trace context of the span that wrote the entry (`src/pipeline/tracing.ts` stamps
   * every output), so each hop is a child of the one before, in whatever process.
   */
  traceparent: "tp",
  /** A routed message that reached no one without failing: why (Switchboard's own, to a topic). */
  note: "note",
  /** How a recipient got a message: `inbox` or `webhook` (delivered statuses). */
  via: "via",
} as const;

export type FieldName = (typeof Field)[keyof typeof Field];

/** A stream entry as read: its id and its fields as raw bytes. */
export interface StreamEntry {
  id: string;
  fields: Map<string, Buffer>;
}

export function text(entry: StreamEntry, name: FieldName): string | undefined {
  return entry.fields.get(name)?.toString("utf8");
}

/** Flat field/value pairs, as XADD takes them. */
export type FieldList = (string | Buffer)[];

/** An entry for another stream: which stage (or the dead letters) and its fields. */
export interface Output {
  to: StageName | "dead";
  fields: FieldList;
}

/** Copies chosen fields of an entry, for outputs that carry them on unchanged. */
export function carry(entry: StreamEntry, names: readonly FieldName[]): FieldList {
  const out: FieldList = [];
  for (const name of names) {
    const value = entry.fields.get(name);
    if (value !== undefined) out.push(name, value);
  }
  return out;
}

/** Parses the reply of XREADGROUP / XAUTOCLAIM entry lists (buffers) into entries. */
export function parseEntries(raw: unknown): StreamEntry[] {
  if (!Array.isArray(raw)) return [];
  const entries: StreamEntry[] = [];
  for (const item of raw as unknown[]) {
    // A deleted entry that is still pending comes back with nil fields (XREADGROUP 0).
    if (!Array.isArray(item)) continue;
    const [id, values] = item as [Buffer, Buffer[] | null];
    const fields = new Map<string, Buffer>();
    if (Array.isArray(values)) {
      for (let i = 0; i + 1 < values.length; i += 2) {
        fields.set(values[i]!.toString("utf8"), values[i + 1]!);
      }
    }
    entries.push({ id: id.toString("utf8"), fields });
  }
  return entries;
}

/**
 * The fields of a validate entry that carries its envelope: how Switchboard's own messages
 * (notices, alerts) enter the pipeline without a front end having stored them.
 */
export function carryingEnvelope(envelope: Envelope, limits: CodecLimits): FieldList {
  const { enc, data } = encodeEnvelope(envelope, limits);
  return [
    Field.kind,
    "msg",
    Field.messageId,
    envelope.id,
    Field.encoding,
    enc,
    Field.envelope,
    data,
  ];
}
