import type { TraceContext } from "../protocol/envelope.js";
import type { ToolOutputs } from "../protocol/tool-outputs.js";
import type { ToolInput } from "../protocol/tools.js";
import type { Switchboard } from "../service/switchboard.js";

/** The tools the HTTP API serves: each route takes the tool's input and answers its output. */
export type ApiTool = keyof typeof ToolOutputs;

interface Call<N extends ApiTool> {
  /** Checked against the tool's input schema. */
  input: ToolInput<N>;
  service: Switchboard;
  /** From the request's `traceparent` and `tracestate` headers. */
  trace: TraceContext | undefined;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

interface RouteSpec<N extends ApiTool> {
  method: "GET" | "POST";
  /** As OpenAPI writes it: `/v1/messages/{id}`. */
  path: string;
  tool: N;
  summary: string;
  /** The input field the path's `{id}` fills. */
  id?: keyof ToolInput<N> & string;
  /** Where the rest of the input comes from. */
  from: "body" | "query";
  /** The status of a success. */
  status: 200 | 202;
}

/** An agent's route: its bearer token is required and checked. */
interface AgentRoute<N extends ApiTool> extends RouteSpec<N> {
  access: "agent";
  run(call: Call<N> & { agent: string }): Promise<object>;
}

/** A route anyone may call; a token, if presented, is handed to the route as it is. */
interface OpenRoute<N extends ApiTool> extends RouteSpec<N> {
  access: "open";
  run(call: Call<N> & { token: string | undefined }): Promise<object>;
}

export type Route<N extends ApiTool = ApiTool> = AgentRoute<N> | OpenRoute<N>;

/**
 * A route of the table, typed by its tool. The handler parses each input with
 * `ToolInputs[route.tool]`, so `run` gets the input of its own tool.
 */
const route = <N extends ApiTool>(spec: Route<N>): Route => spec;

/** The `/v1` routes: the tools' semantics, the service's calls, the tools' outputs. */
export const ROUTES: readonly Route[] = [
  route({
    method: "POST",
    path: "/v1/agents",
    tool: "register_agent",
    summary:
      "Register an agent, or update your own registration (present its token); returns the token.",
    from: "body",
    status: 200,
    access: "open",
    async run({ input, service, token }) {
      const { agent, ...registration } = await service.register(input, token);
      return { name: agent.name, ...registration, agent };
    },
  }),
  route({
    method: "GET",
    path: "/v1/agents",
    tool: "list_agents",
    summary: "Who is registered, filtered by capability or status.",
    from: "query",
    status: 200,
    access: "agent",
    async run({ input, service, agent }) {
      const agents = await service.listAgents(agent, input);
      return { agents, count: agents.length };
    },
  }),
  route({
    method: "POST",
    path: "/v1/messages",
    tool: "send_message",
    summary: "Send a message as yourself; answered once it is accepted.",
    from: "body",
    status: 202,
    access: "agent",
    run: ({ input, service, agent, trace, signal }) => service.send(agent, input, trace, signal),
  }),
  route({
    method: "GET",
    path: "/v1/messages/{id}",
    tool: "get_message",
    summary: "A message you sent or received, with where it stands per recipient.",
    id: "message_id",
    from: "query",
    status: 200,
    access: "agent",
    async run({ input, service, agent }) {
      return { message: await service.getMessage(agent, input.message_id) };
    },
  }),
  route({
    method: "GET",
    path: "/v1/threads/{id}",
    tool: "get_thread",
    summary: "The messages of a thread that you sent or received, in order.",
    id: "thread_id",
    from: "query",
    status: 200,
    access: "agent",
    async run({ input, service, agent }) {
      const messages = await service.getThread(agent, input.thread_id);
      return { thread_id: input.thread_id, messages };
    },
  }),
  route({
    method: "GET",
    path: "/v1/inbox",
    tool: "fetch_inbox",
    summary:
      "Take the oldest waiting messages (redelivered first); with wait_seconds, wait for mail. Ack them when handled.",
    from: "query",
    status: 200,
    access: "agent",
    async run({ input, service, agent, signal }) {
      const messages = await service.fetch(agent, input, signal);
      return { messages, count: messages.length };
    },
  }),
  route({
    method: "POST",
    path: "/v1/inbox/ack",
    tool: "ack_messages",
    summary: "Mark fetched messages as handled, so they are not handed out again.",
    from: "body",
    status: 200,
    access: "agent",
    run: ({ input, service, agent }) => service.ack(agent, input.message_ids),
  }),
];
