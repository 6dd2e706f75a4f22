import {
  ProtocolError,
  ProtocolErrorCode,
  type JSONRPCRequest,
  type McpServer,
  type Result,
  type ServerContext,
} from "@modelcontextprotocol/server";
import { issuePath } from "../protocol/issues.js";

type Handler = (request: JSONRPCRequest, ctx: ServerContext) => Promise<Result>;

/** The SDK's table of request handlers by method (a private field of its Protocol). */
interface Handlers {
  _requestHandlers?: unknown;
}

interface Issue {
  path: PropertyKey[];
  message: string;
}

/**
 * Answers a spec request whose params do not fit the SDK's schema (`tools/list` with a
 * numeric `cursor`, `resources/read` without a string `uri`) with -32602 Invalid params
 * naming the field, as JSON-RPC asks, instead of the SDK's -32603 Internal error: the SDK
 * rethrows its parse failure as a plain `Error` whose message is zod's issue list
 * (typescript-sdk issue #2284, fix proposed, not released). Wraps every handler registered
 * so far, so call it last; remove it once the SDK answers -32602 itself.
 */
export function answerInvalidParams(server: McpServer): void {
  const handlers = (server.server as unknown as Handlers)._requestHandlers;
  if (!(handlers instanceof Map)) return;
  for (const [method, handler] of handlers as Map<string, Handler>) {
    handlers.set(method, async function checkedParams(request: JSONRPCRequest, ctx: ServerContext) {
      try {
        return await handler(request, ctx);
      } catch (error) {
        throw invalidParams(method, error) ?? error;
      }
    });
  }
}

/** The SDK's parse failure as Invalid params; undefined for any other error. */
function invalidParams(method: string, error: unknown): ProtocolError | undefined {
  if (!(error instanceof Error) || error instanceof ProtocolError || "code" in error) {
    return undefined;
  }
  const issues = zodIssues(error.message);
  if (issues === undefined) return undefined;
  const fields = issues.map((issue) => {
    const path = issue.path[0] === "params" ? issue.path.slice(1) : issue.path;
    return `field \`${issuePath(path)}\`: ${issue.message}`;
  });
  return new ProtocolError(
    ProtocolErrorCode.InvalidParams,
    `Invalid params for ${method}: ${fields.join("; ")}`,
  );
}

/** zod's issues, when `text` is a ZodError's message (its issues as JSON); else undefined. */
function zodIssues(text: string): Issue[] | undefined {
  if (!text.startsWith("[")) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const isIssue = (item: unknown): item is Issue =>
    typeof item === "object" &&
    item !== null &&
    Array.isArray((item as Issue).path) &&
    typeof (item as Issue).message === "string";
  return Array.isArray(parsed) && parsed.length > 0 && parsed.every(isIssue) ? parsed : undefined;
}
