import type { MessageView } from "../history/history.js";
import { History } from "../history/history.js";
import { recentThreads, type ThreadSummary } from "../history/threads.js";
import type { StatusSource } from "../health/status.js";
import { SYSTEM_AGENT, type AgentView } from "../protocol/agent.js";
import { HUMAN_PREFIX } from "../protocol/envelope.js";
import { isHumanSender } from "../protocol/overseer.js";
import type { Switchboard } from "../service/switchboard.js";

/** The name the console reads the directory as: no agent, so every webhook shows as its origin. */
const OPERATOR_VIEWER = `${HUMAN_PREFIX}operator`;

export interface AgentRow extends AgentView {
  /** Messages in its inbox not yet acknowledged. */
  backlog: number;
  oldest_waiting_seconds: number | null;
}

/** One step of a message's way: its own statuses, and each recipient's (with `agent`). */
export interface HistoryStep {
  status: string;
  at: string;
  agent?: string;
}

export interface MessageDetail {
  message: MessageView;
  history: HistoryStep[];
  trace_id: string | null;
  /** The trace in the trace UI (`serve --trace-url`), when one is configured. */
  trace_url: string | null;
}

/**
 * What the console's pages read, through the service and the read paths the tools and the
 * CLI use (the directory, inbox digests, history), as an operator who may see everything.
 */
export class ConsoleViews {
  readonly #history: History;

  constructor(
    private readonly service: Switchboard,
    private readonly source: StatusSource,
    private readonly traceUrl: string | undefined,
  ) {
    this.#history = new History(source.redis, source.keys, source.pipeline);
  }

  async agents(): Promise<AgentRow[]> {
    const agents = await this.service.listAgents(OPERATOR_VIEWER);
    const digests = await Promise.all(agents.map((a) => this.service.digest(a.name)));
    return agents.map((agent, i) => ({
      ...agent,
      backlog: digests[i]!.unread,
      oldest_waiting_seconds: digests[i]!.oldest_waiting_seconds,
    }));
  }

  threads(limit: number): Promise<ThreadSummary[]> {
    const { redis, keys, pipeline } = this.source;
    return recentThreads(redis, keys, pipeline.limits, limit);
  }

  thread(threadId: string, after: number, limit: number) {
    return this.#history.page(threadId, after, limit);
  }

  /** The agents a post into a thread goes to when it names none: its first message's. */
  async participants(threadId: string): Promise<string[]> {
    const { messages } = await this.#history.page(threadId, 0, 1);
    const first = messages[0]!;
    const names = new Set([first.from, ...Object.keys(first.recipients)]);
    return [...names].filter((name) => name !== SYSTEM_AGENT && !isHumanSender(name));
  }

  async message(messageId: string): Promise<MessageDetail> {
    const { message, trace_id } = await this.#history.inspect(messageId);
    const steps: HistoryStep[] = [...(message.status?.history ?? [])];
    for (const [agent, state] of Object.entries(message.recipients)) {
      for (const step of state.history) steps.push({ ...step, agent });
    }
    steps.sort((a, b) => a.at.localeCompare(b.at));
    const trace_url =
      trace_id === null || this.traceUrl === undefined
        ? null
        : this.traceUrl.replaceAll("{trace_id}", trace_id);
    return { message, history: steps, trace_id, trace_url };
  }
}
