import { decodeEnvelope } from "../../protocol/codec.js";
import type { Envelope } from "../../protocol/envelope.js";
import { toErrorInfo } from "../../protocol/errors.js";
import { carry, Field, text, type Output, type StreamEntry } from "../../pipeline/entry.js";
import type { Outcome, StageContext, StageFactory } from "../../pipeline/stage.js";

/**
 * route: resolves who receives a message and fans it out, one deliver entry per
 * recipient, telling persist who was chosen.
 */
export const routeStage: StageFactory = (context) => ({
  handle: (entries) => Promise.resolve(entries.map((entry) => routeOne(context, entry))),
});

/** The recipients of a message, each once, in the order named. */
export function resolveRecipients(envelope: Envelope): string[] {
  return [...new Set(envelope.to.agents)];
}

function routeOne(context: StageContext, entry: StreamEntry): Outcome {
  let envelope: Envelope;
  try {
    envelope = decodeEnvelope(
      text(entry, Field.encoding) ?? "json",
      entry.fields.get(Field.envelope) ?? Buffer.alloc(0),
      context.pipeline.limits,
    );
  } catch (error) {
    return { kind: "reject", status: "rejected", error: toErrorInfo(error) };
  }
  const recipients = resolveRecipients(envelope);
  const expiresAt =
    envelope.expires_at === undefined
      ? []
      : [Field.expiresAt, String(Date.parse(envelope.expires_at))];
  const message = carry(entry, [Field.messageId, Field.encoding, Field.envelope]);
  const outputs: Output[] = [
    {
      to: "persist",
      fields: [
        Field.kind,
        "routed",
        Field.recipients,
        JSON.stringify(recipients),
        Field.threadId,
        envelope.thread_id,
        Field.seq,
        String(envelope.seq ?? 0),
        ...message,
      ],
    },
    ...recipients.map((recipient): Output => ({
      to: "deliver",
      fields: [Field.kind, "rcpt", Field.recipient, recipient, ...expiresAt, ...message],
    })),
  ];
  return { kind: "forward", outputs };
}
