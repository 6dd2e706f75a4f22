import type { z } from "zod";
import type { ToolOutputs } from "../protocol/tool-outputs.js";
import type { ToolInputs } from "../protocol/tools.js";
import { apiErrorOf } from "./problem-error.js";

type Inputs = typeof ToolInputs;
type Outputs = typeof ToolOutputs;

/** What a method takes: the input of its MCP tool (defaults may be left out). */
export type ApiInput<N extends keyof Outputs> = z.input<Inputs[N]>;
/** What a method answers: the output of its MCP tool. */
export type ApiOutput<N extends keyof Outputs> = z.output<z.ZodObject<Outputs[N]>>;

export type Registration = ApiOutput<"register_agent">;
export type SendResult = ApiOutput<"send_message">;
export type Fetched = ApiOutput<"fetch_inbox">;
export type AckResult = ApiOutput<"ack_messages">;
export type MessageView = ApiOutput<"get_message">["message"];
export type Thread = ApiOutput<"get_thread">;
export type AgentList = ApiOutput<"list_agents">;

export interface SwitchboardClientOptions {
  /** Where Switchboard serves HTTP, such as `http://127.0.0.1:8787` (its `/mcp` URL works too). */
  url: string | URL;
  /** The agent's token (`sbt_…`). Without one, only {@link SwitchboardClient.register} works. */
  token?: string | undefined;
}

interface Call {
  method: "GET" | "POST";
  path: string;
  query?: Readonly<Record<string, string | number | undefined>>;
  body?: unknown;
  signal?: AbortSignal | undefined;
}

/**
 * Switchboard's HTTP API (`/v1`) for code that does not speak MCP: the tools' operations,
 * typed by their schemas, over the global `fetch`. A refusal throws
 * {@link SwitchboardApiError} with the problem's code, status, field, data and Retry-After.
 */
export class SwitchboardClient {
  readonly #base: URL;
  #token: string | undefined;

  constructor(options: SwitchboardClientOptions) {
    this.#base = new URL("/v1/", options.url);
    this.#token = options.token;
  }

  /** The token requests present: the one given, or the one {@link register} answered. */
  get token(): string | undefined {
    return this.#token;
  }

  /**
   * Registers an agent (or, with this client's token, updates its registration); the client
   * presents the token answered from then on.
   */
  async register(input: ApiInput<"register_agent">): Promise<Registration> {
    const registration = await this.#call<Registration>({
      method: "POST",
      path: "agents",
      body: input,
    });
    this.#token = registration.token;
    return registration;
  }

  listAgents(filter: ApiInput<"list_agents"> = {}): Promise<AgentList> {
    return this.#call({ method: "GET", path: "agents", query: filter });
  }

  /** Sends a message as this agent; answered once it is accepted. */
  send(message: ApiInput<"send_message">, signal?: AbortSignal): Promise<SendResult> {
    return this.#call({ method: "POST", path: "messages", body: message, signal });
  }

  /** Takes waiting messages; with `wait_seconds`, waits for mail when none wait. Ack them. */
  fetchInbox(options: ApiInput<"fetch_inbox"> = {}, signal?: AbortSignal): Promise<Fetched> {
    return this.#call({ method: "GET", path: "inbox", query: options, signal });
  }

  ack(messageIds: readonly string[]): Promise<AckResult> {
    return this.#call({ method: "POST", path: "inbox/ack", body: { message_ids: messageIds } });
  }

  async getMessage(messageId: string): Promise<MessageView> {
    const path = `messages/${encodeURIComponent(messageId)}`;
    return (await this.#call<ApiOutput<"get_message">>({ method: "GET", path })).message;
  }

  getThread(threadId: string): Promise<Thread> {
    return this.#call({ method: "GET", path: `threads/${encodeURIComponent(threadId)}` });
  }

  async #call<T>(call: Call): Promise<T> {
    const url = new URL(call.path, this.#base);
    for (const [name, value] of Object.entries(call.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    if (call.body !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(url, {
      method: call.method,
      headers,
      body: call.body === undefined ? null : JSON.stringify(call.body),
      signal: call.signal ?? null,
    });
    if (!response.ok) throw await apiErrorOf(response);
    return (await response.json()) as T;
  }
}
