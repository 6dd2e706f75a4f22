import type { Envelope } from "./envelope.js";

/** What agents see of a message, in every tool result that shows one. */
export interface MessageContent {
  message_id: string;
  from: string;
  type: string;
  subject: string | undefined;
  body: unknown;
  thread_id: string;
  seq: number | undefined;
  reply_to: string | undefined;
  created_at: string;
  expires_at: string | undefined;
}

export function contentOf(envelope: Envelope): MessageContent {
  return {
    message_id: envelope.id,
    from: envelope.from,
    type: envelope.type,
    subject: envelope.subject,
    body: envelope.body,
    thread_id: envelope.thread_id,
    seq: envelope.seq,
    reply_to: envelope.reply_to,
    created_at: envelope.created_at,
    expires_at: envelope.expires_at,
  };
}
