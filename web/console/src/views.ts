/**
 * The shapes the console's JSON endpoints answer with: the views of the MCP tools and the
 * CLI's `--json` (src/history/history.ts MessageView, src/agents/record.ts AgentView,
 * src/dlq/entry.ts DeadLetterSummary), only the fields the pages read.
 */

export interface Agent {
  name: string;
  status: string;
  capabilities: string[];
  backlog?: number;
  last_seen?: string;
  description?: string;
  delivery?: string;
  role?: string;
}

export interface ThreadSummary {
  thread_id: string;
  subject?: string | null;
  last_seq?: number;
  last_at?: string;
  participants?: string[];
  messages?: number;
}

export interface StatusState {
  status: string;
  summary?: string;
  at?: string;
  history?: { status: string; at: string }[];
}

export interface Message {
  message_id: string;
  from: string;
  type: string;
  subject?: string;
  body: unknown;
  thread_id: string;
  seq?: number;
  reply_to?: string;
  created_at: string;
  expires_at?: string;
  to: unknown;
  status?: StatusState;
  recipients: Record<string, StatusState>;
}

export interface ThreadPage {
  thread_id: string;
  messages: Message[];
  next_after: number | null;
}

export interface MessageDetail {
  message: Message;
  history: { status: string; at: string; agent?: string }[];
  trace_id: string | null;
  trace_url: string | null;
}

export interface DeadLetter {
  id: string;
  at: string;
  message_id?: string;
  stage: string;
  code: string;
  category?: string;
  error: string;
  recipient?: string;
  from?: string;
  attempts: number;
}

export interface DeadLetterList {
  dead_letters: DeadLetter[];
  next_cursor: string | null;
  depth?: number;
}

export interface PostResult {
  message_id: string;
  thread_id: string;
  status: string;
}

/** Who a message went to, in words (src/protocol/envelope.ts TargetSchema). */
export function targetText(to: unknown): string {
  if (typeof to !== "object" || to === null) return "—";
  const target = to as Record<string, unknown>;
  switch (target.kind) {
    case "agents":
      return Array.isArray(target.agents) ? target.agents.map(String).join(", ") : "—";
    case "broadcast":
      return typeof target.capability === "string"
        ? `everyone with ${target.capability}`
        : "everyone";
    case "capability":
      return `${String(target.mode)} with ${String(target.capability)}`;
    case "topic":
      return `topic ${String(target.topic)}`;
    default:
      return JSON.stringify(to);
  }
}
