import { SYSTEM_AGENT } from "../../protocol/agent.js";
import { composeEnvelope } from "../../protocol/compose.js";
import type { Envelope } from "../../protocol/envelope.js";
import type { ErrorInfo } from "../../protocol/errors.js";
import { isHumanSender } from "../../protocol/overseer.js";
import { FAILURE_STATUSES, type FailureStatus } from "../../protocol/status.js";
import { carryingEnvelope, type Output } from "../../streams/entry.js";
import type { StageContext } from "../../pipeline/stage.js";

/** The type of the messages Switchboard sends a sender whose message failed. */
export const NOTICE_TYPE = "switchboard.notice";

/**
 * A failure the sender must hear of becomes a notice: a message from `switchboard` to the
 * sender, in the same thread, replying to the failed message, that says what happened and
 * what to do. It enters the pipeline like any message. Notices about notices (and about
 * Switchboard's own messages, and to people posting as human:<name>) are not sent.
 */
export function noticeFor(
  context: StageContext,
  original: Envelope | undefined,
  recipient: string | undefined,
  status: string,
  error: ErrorInfo | undefined,
): Output | undefined {
  if (!(FAILURE_STATUSES as readonly string[]).includes(status) || original === undefined)
    return undefined;
  if (original.from === SYSTEM_AGENT || isHumanSender(original.from)) return undefined;
  if (original.type === NOTICE_TYPE) return undefined;
  const what =
    recipient === undefined
      ? status.replace("_", "-")
      : `${status.replace("_", "-")} for ${recipient}`;
  const notice = composeEnvelope(
    {
      from: SYSTEM_AGENT,
      to: [original.from],
      type: NOTICE_TYPE,
      thread_id: original.thread_id,
      reply_to: original.id,
      subject:
        `message ${what}${original.subject === undefined ? "" : `: ${original.subject}`}`.slice(
          0,
          256,
        ),
      body: {
        message_id: original.id,
        status: status as FailureStatus,
        ...(recipient === undefined ? {} : { recipient }),
        ...(error === undefined
          ? {}
          : {
              error: {
                code: error.code,
                message: error.message,
                ...(error.field === undefined ? {} : { field: error.field }),
              },
            }),
      },
    },
    context.now(),
  );
  // The notice carries its envelope: persist stores no records of its own making.
  return { to: "validate", fields: carryingEnvelope(notice, context.pipeline.limits) };
}
