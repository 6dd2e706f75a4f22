import { SYSTEM_AGENT } from "../../protocol/agent.js";
import { TargetSchema } from "../../protocol/envelope.js";
import { SwitchboardError, toErrorInfo } from "../../protocol/errors.js";
import { carry, Field, text, type Output, type StreamEntry } from "../../streams/entry.js";
import type { Outcome, StageContext, StageFactory } from "../../pipeline/stage.js";
import { Directory } from "./directory.js";
import { resolve, type Routable } from "./resolve.js";

/**
 * route: resolves who receives a message (named agents, broadcast, a capability with
 * mode any or all, a topic, plus the routing rules of the pipeline file) and fans it out:
 * one deliver entry per recipient, and one entry telling persist who was chosen. A
 * message that reaches nobody is undeliverable, with the reason (but for Switchboard's
 * own messages to a topic: routed to no one, see {@link mayReachNobody}). It works from the
 * routing header validate wrote; the body stays in the message record.
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

/** Fields every recipient's deliver entry carries on. */
const PER_RECIPIENT = [Field.messageId, Field.seq, Field.expiresAt, Field.replyTo] as const;

async function routeOne(
  context: StageContext,
  directory: Directory,
  entry: StreamEntry,
): Promise<Outcome> {
  let header: Routable;
  try {
    header = readHeader(entry);
  } catch (error) {
    return { kind: "reject", status: "rejected", error: toErrorInfo(error) };
  }
  const { recipients, unknown, reason } = await resolve(
    header,
    directory,
    context.pipeline.routing.rules,
  );
  if (recipients.length === 0 && !mayReachNobody(header)) {
    return {
      kind: "reject",
      status: "undeliverable",
      error: { code: "NO_RECIPIENT", message: reason!, field: "to" },
    };
  }
  const outputs: Output[] = [
    {
      to: "persist",
      fields: [
        Field.kind,
        "routed",
        Field.recipients,
        JSON.stringify(recipients),
        // The sender too, for the console's activity events (src/stages/persist/activity.ts).
        ...carry(entry, [Field.messageId, Field.threadId, Field.seq, Field.from]),
        ...(recipients.length === 0 ? [Field.note, `to no one: ${reason!}`] : []),
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
        ...carry(entry, [Field.messageId]),
      ],
    })),
    ...recipients.map((recipient): Output => ({
      to: "deliver",
      fields: [Field.kind, "rcpt", Field.recipient, recipient, ...carry(entry, PER_RECIPIENT)],
    })),
  ];
  return { kind: "forward", outputs };
}

/**
 * Switchboard's own messages to a topic (alerts on `switchboard.alerts`, agent status
 * changes) are published for whoever cares: with no subscriber they are routed to no one,
 * which is not a failure (no error, no notice), rather than undeliverable.
 */
function mayReachNobody(header: Routable): boolean {
  return header.from === SYSTEM_AGENT && header.to.kind === "topic";
}

/** The routing header validate wrote. */
function readHeader(entry: StreamEntry): Routable {
  const from = text(entry, Field.from);
  const type = text(entry, Field.type);
  const target = TargetSchema.safeParse(JSON.parse(text(entry, Field.target) ?? "null"));
  if (
    from === undefined ||
    type === undefined ||
    !target.success ||
    !entry.fields.has(Field.messageId)
  ) {
    throw new SwitchboardError(
      "MALFORMED_ENTRY",
      "route entry lacks its routing header (mid, from, to, type)",
      {
        field: "to",
      },
    );
  }
  return { from, to: target.data, type };
}
