import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { queryInput } from "../api/input.js";
import { jsonObject } from "../http/json-request.js";
import { filterOf } from "../dlq/filter.js";
import type { DeadLetterFilter } from "../dlq/entry.js";
import { addUp, noPurges, noReplays, type Tally } from "../dlq/results.js";
import { showDeadLetter, shownJson } from "../dlq/show.js";
import type { DeadLetters } from "../dlq/store.js";
import { readErrorReport, DEFAULT_WINDOWS } from "../failures/report.js";
import { parseWindows } from "../failures/windows.js";
import { readPipelineStatus } from "../health/report.js";
import type { StatusSource } from "../health/status.js";
import { parseArguments } from "../protocol/arguments.js";
import { SwitchboardError } from "../protocol/errors.js";
import { humanSender } from "../protocol/overseer.js";
import { ToolInputs, type ToolInput } from "../protocol/tools.js";
import type { Switchboard } from "../service/switchboard.js";
import type { ActivityStreams } from "./events.js";
import type { Session } from "./sessions.js";
import type { ConsoleViews } from "./views.js";

/** What a console API handler gets. */
export interface ApiRequest {
  req: IncomingMessage;
  res: ServerResponse;
  query: URLSearchParams;
  session: Session;
  /** The `{id}` of the path, decoded. */
  id: string;
  /** The JSON body (POST). */
  body: () => Promise<unknown>;
}

/** A JSON answer, or undefined when the handler answered itself (the event stream). */
export type ApiAnswer = { status: number; json: unknown } | undefined;

export interface ApiDeps {
  service: Switchboard;
  source: StatusSource;
  views: ConsoleViews;
  deadLetters: DeadLetters;
  streams: ActivityStreams;
  /** Tells the consoles the dead letters changed (after a replay or purge). */
  deadLettersChanged: () => Promise<void>;
}

type Handler = (request: ApiRequest) => Promise<ApiAnswer>;

/** The same selection schema makes both inputs. */
type DeadLetterSelection = ToolInput<"dlq_replay">;

const ok = (json: unknown): ApiAnswer => ({ status: 200, json });

const ThreadsQuery = z.strictObject({
  limit: z.number().int().min(1).max(200).default(50),
});
const ThreadQuery = z.strictObject({
  after: z.number().int().min(0).default(0),
  limit: z.number().int().min(1).max(100).default(100),
});
const ErrorsQuery = z.strictObject({
  window: z.string().max(200).optional(),
  top: z.number().int().min(1).max(100).default(10),
});
const Empty = z.strictObject({});

/** Parses a GET's query by a schema (numbers converted as `/v1` does; unknown names refused). */
function queryOf<S extends z.ZodObject>(schema: S, query: URLSearchParams): z.output<S> {
  return parseArguments(schema, queryInput(query, schema));
}

/** The body of a POST as an object whose fields the handler takes apart. */
async function fieldsOf(request: ApiRequest): Promise<Record<string, unknown>> {
  return jsonObject(await request.body(), "the body must be a JSON object");
}

/**
 * The console's JSON routes under `/console/api/`, by method and path (`{id}` for one
 * segment). Shapes are those of the tools' outputs and of the CLI's `--json`.
 */
export function apiRoutes(deps: ApiDeps): ReadonlyMap<string, Handler> {
  const { service, source, views, deadLetters } = deps;
  /**
   * A replay or purge, as its admin tool answers: by ids, the tally and each id's result;
   * with `all`, the tally of what matched the filter. Consoles are told afterwards.
   */
  async function bulk<R extends string>(
    input: DeadLetterSelection,
    act: {
      byIds: (ids: string[]) => Promise<{ result: R }[]>;
      matching: (filter: DeadLetterFilter) => Promise<Tally<R>>;
      none: () => Tally<R>;
    },
  ): Promise<ApiAnswer> {
    const answer =
      input.ids === undefined
        ? await act.matching(filterOf(input))
        : await act.byIds(input.ids).then((results) => ({
            ...addUp(act.none(), results),
            results,
          }));
    await deps.deadLettersChanged();
    return ok(answer);
  }
  return new Map<string, Handler>([
    [
      "GET session",
      ({ session: { operator, csrf, expires_at } }) =>
        Promise.resolve(ok({ operator, csrf, expires_at })),
    ],
    [
      "GET agents",
      async ({ query }) => {
        queryOf(Empty, query);
        return ok({ agents: await views.agents() });
      },
    ],
    [
      "GET threads",
      async ({ query }) => ok({ threads: await views.threads(queryOf(ThreadsQuery, query).limit) }),
    ],
    [
      "GET threads/{id}",
      async ({ query, id }) => {
        const { after, limit } = queryOf(ThreadQuery, query);
        const page = await views.thread(checkThreadId(id), after, limit);
        return ok({ thread_id: id, ...page });
      },
    ],
    [
      "GET messages/{id}",
      async ({ query, id }) => {
        queryOf(Empty, query);
        const { message_id } = parseArguments(ToolInputs.get_message, { message_id: id });
        return ok(await views.message(message_id));
      },
    ],
    [
      "GET dead-letters",
      async ({ query }) => {
        const input = queryOf(ToolInputs.dlq_list, query);
        const page = { limit: input.limit, after: input.after };
        return ok(await service.listDeadLetters(filterOf(input), page));
      },
    ],
    [
      "GET dead-letters/{id}",
      async ({ query, id }) => {
        queryOf(Empty, query);
        const shown = await showDeadLetter(deadLetters, id);
        if (shown === undefined) {
          throw new SwitchboardError(
            "NOT_FOUND",
            `no dead letter ${id} (replayed or purged already, trimmed, or mistyped)`,
            { field: "id" },
          );
        }
        return ok(shownJson(shown));
      },
    ],
    [
      "POST dead-letters/replay",
      async (request) => {
        const input = parseArguments(ToolInputs.dlq_replay, await fieldsOf(request));
        return bulk(input, {
          byIds: (ids) => service.replayDeadLetters(ids),
          matching: (filter) => service.replayMatchingDeadLetters(filter),
          none: noReplays,
        });
      },
    ],
    [
      "POST dead-letters/purge",
      async (request) => {
        const { confirm, ...fields } = await fieldsOf(request);
        if (confirm !== "purge") {
          throw new SwitchboardError(
            "INVALID_INPUT",
            'purging deletes dead letters for good: add "confirm": "purge" to the body',
            { field: "confirm" },
          );
        }
        return bulk(parseArguments(ToolInputs.dlq_purge, fields), {
          byIds: (ids) => service.purgeDeadLetters(ids),
          matching: (filter) => service.purgeMatchingDeadLetters(filter),
          none: noPurges,
        });
      },
    ],
    [
      "GET pipeline",
      async ({ query }) => {
        queryOf(Empty, query);
        return ok(await readPipelineStatus(source));
      },
    ],
    [
      "GET errors",
      async ({ query }) => {
        const input = queryOf(ErrorsQuery, query);
        const windows =
          input.window === undefined ? DEFAULT_WINDOWS : parseWindows(input.window, "window");
        const { redis, keys, pipeline } = source;
        return ok(await readErrorReport(redis, keys, pipeline, { windows, top: input.top }));
      },
    ],
    [
      "GET leases",
      async ({ query }) => ok(await service.leases.list(queryOf(ToolInputs.list_leases, query))),
    ],
    [
      "GET notes",
      async ({ query }) =>
        ok(await service.notes.list(queryOf(ToolInputs.list_notes, query).prefix)),
    ],
    [
      "POST posts",
      async (request) => {
        const { as, ...fields } = await fieldsOf(request);
        // As the logged-in operator unless another name is given.
        const sender = humanSender(as ?? request.session.operator, "as");
        if (fields.to === undefined && typeof fields.thread_id === "string") {
          fields.to = await views.participants(checkThreadId(fields.thread_id));
        }
        const input = parseArguments(ToolInputs.send_message, fields);
        if (input.await_reply_seconds !== undefined) {
          throw new SwitchboardError("INVALID_INPUT", "a post does not wait for replies", {
            field: "await_reply_seconds",
          });
        }
        const { message_id, thread_id, status } = await service.send(sender, input);
        return { status: 202, json: { message_id, thread_id, status } };
      },
    ],
    [
      "GET events",
      ({ query, res }) => {
        queryOf(Empty, query);
        deps.streams.open(res);
        return Promise.resolve(undefined);
      },
    ],
  ]);
}

/** A thread id from a path or a body, checked as the tools check it. */
function checkThreadId(threadId: string): string {
  return parseArguments(ToolInputs.get_thread, { thread_id: threadId }).thread_id;
}
