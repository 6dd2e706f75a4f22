import { decodeEnvelope } from "../../protocol/codec.js";
import type { Envelope } from "../../protocol/envelope.js";
import { toErrorInfo } from "../../protocol/errors.js";
import {
  carry,
  Field,
  text,
  type FieldList,
  type Output,
  type StreamEntry,
} from "../../pipeline/entry.js";
import type { Outcome, StageContext, StageFactory } from "../../pipeline/stage.js";
import { Directory } from "./directory.js";
import { resolve } from "./resolve.js";

/**
 * route: resolves who receives a message (named agents, broadcast, a capability with
 * mode any or all, a topic, plus the routing rules of the pipeline file) and fans it out:
 * one deliver entry per recipient, and one entry telling persist who was chosen. A
 * message that reaches nobody is undeliverable, with the reason.
 */
export const routeStage: StageFactory = (context) => {
  const directory = new Directory(context.redis, context.keys, context.pipeline);
  return {
    async handle(entries) {
      await directory.refresh();
      return Promise.all(entries.map((entry) => routeOne(context, directory, entry)));
    },
  };
};

async function routeOne(
  context: StageContext,
  directory: Directory,
  entry: StreamEntry,
): Promise<Outcome> {
  let envelope: Envelope;
  try {
    const data = entry.fields.get(Field.envelope) ?? Buffer.alloc(0);
    envelope = decodeEnvelope(text(entry, Field.encoding) ?? "json", data, context.pipeline.limits);
  } catch (error) {
    return { kind: "reject", status: "rejected", error: toErrorInfo(error) };
  }
  const { recipients, unknown, reason } = await resolve(
    envelope,
    directory,
    context.pipeline.routing.rules,
  );
  if (recipients.length === 0) {
    return {
      kind: "reject",
      status: "undeliverable",
      error: { code: "NO_RECIPIENT", message: reason!, field: "to" },
    };
  }
  const message = carry(entry, [Field.messageId, Field.encoding, Field.envelope]);
  const perRecipient: FieldList = [];
  if (envelope.expires_at !== undefined)
    perRecipient.push(Field.expiresAt, String(Date.parse(envelope.expires_at)));
  if (envelope.reply_to !== undefined) perRecipient.push(Field.replyTo, envelope.reply_to);
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
    ...unknown.map((agent): Output => ({
      to: "persist",
      fields: [
        Field.kind,
        "status",
        Field.recipient,
        agent,
        Field.status,
        "undeliverable",
        Field.error,
        JSON.stringify({
          code: "NO_RECIPIENT",
          message: `no agent named '${agent}' is registered`,
          field: "to",
        }),
        Field.stage,
        "route",
        ...message,
      ],
    })),
    ...recipients.map((recipient): Output => ({
      to: "deliver",
      fields: [Field.kind, "rcpt", Field.recipient, recipient, ...perRecipient, ...message],
    })),
  ];
  return { kind: "forward", outputs };
}
