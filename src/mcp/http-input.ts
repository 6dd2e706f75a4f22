import type { IncomingMessage, ServerResponse } from "node:http";
import { isJsonContentType } from "@modelcontextprotocol/server";
import { readBody } from "../http/body.js";
import { parseJsonBody } from "../http/json-body.js";
import { MAX_JSON_DEPTH, nestsDeeperThan } from "../protocol/json-value.js";

/**
 * The deepest a JSON-RPC message may nest: room for a message body of
 * {@link MAX_JSON_DEPTH} levels and the envelope around it. Deeper, the SDK's adapter would
 * overflow the stack re-serializing it (`JSON.stringify`) before any tool could refuse it.
 */
export const MAX_REQUEST_DEPTH = MAX_JSON_DEPTH * 2;
/** JSON-RPC's code for parameters that do not fit the method. */
const INVALID_PARAMS = -32602;

/** The methods Streamable HTTP uses: POST a message, GET the event stream, DELETE the session. */
const MCP_METHODS: ReadonlySet<string> = new Set(["POST", "GET", "DELETE"]);

/** JSON-RPC's code for a body that is not JSON. */
const PARSE_ERROR = -32700;
/** The SDK's code for a request refused before it reached a method. */
const REFUSED = -32000;

function answerJsonRpcError(
  res: ServerResponse,
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): undefined {
  const body = JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null });
  res.writeHead(status, { ...headers, "content-type": "application/json" }).end(body);
  return undefined;
}

/**
 * What a request to /mcp carries, read here once: the parsed JSON of a POST (`parsed`),
 * nothing for GET and DELETE. Anything else is answered here and gives undefined: 405 for
 * another method, 415 for a POST that is not `application/json`, 413 for a body over
 * `maxBytes` (counted as it arrives; the connection is then closed), 400 with JSON-RPC's
 * parse error (-32700) for an empty body, bytes that are not UTF-8 or text that is not JSON.
 * A body that stops arriving leaves nothing to answer: the response is dropped.
 */
export async function readMcpInput(
  req: IncomingMessage,
  res: ServerResponse,
  maxBytes: number,
): Promise<{ parsed: unknown } | undefined> {
  const method = req.method ?? "";
  if (!MCP_METHODS.has(method)) {
    return answerJsonRpcError(res, 405, REFUSED, `Method Not Allowed: ${method}`, {
      allow: [...MCP_METHODS].join(", "),
    });
  }
  if (method !== "POST") return { parsed: undefined };
  if (!isJsonContentType(req.headers["content-type"])) {
    return answerJsonRpcError(
      res,
      415,
      REFUSED,
      "Unsupported Media Type: Content-Type must be application/json",
    );
  }
  const read = await readBody(req, maxBytes).catch(() => undefined);
  if (read === undefined) {
    // The client went away, or was cut for taking too long (answered 408 already).
    res.destroy();
    return undefined;
  }
  if (read.tooLarge) {
    const message = `Payload Too Large: the request body is over the limit of ${maxBytes} bytes (http.maxBodyBytes in the pipeline file)`;
    return answerJsonRpcError(res, 413, REFUSED, message, { connection: "close" });
  }
  const body = parseJsonBody(read.bytes);
  if (!body.ok) return answerJsonRpcError(res, 400, PARSE_ERROR, `Parse error: ${body.reason}`);
  const parsed = body.value;
  if (nestsDeeperThan(parsed, MAX_REQUEST_DEPTH)) {
    // An answer to the request itself (its id, 200), so the client's call fails with it.
    const id = (parsed as { id?: unknown }).id;
    const message =
      `Invalid params: the request nests more than ${MAX_REQUEST_DEPTH} levels of arrays and objects; ` +
      `a message body (field \`body\`) may nest 0 to ${MAX_JSON_DEPTH} levels (limits.maxBodyDepth): flatten it`;
    res.writeHead(200, { "content-type": "application/json" }).end(
      JSON.stringify({
        jsonrpc: "2.0",
        error: { code: INVALID_PARAMS, message },
        id: typeof id === "string" || typeof id === "number" ? id : null,
      }),
    );
    return undefined;
  }
  return { parsed };
}

/** The tool a JSON-RPC `tools/call` body names (a batch or anything else: undefined). */
export function toolCalled(parsedBody: unknown): string | undefined {
  if (typeof parsedBody !== "object" || parsedBody === null || Array.isArray(parsedBody)) {
    return undefined;
  }
  const { method, params } = parsedBody as { method?: unknown; params?: unknown };
  if (method !== "tools/call" || typeof params !== "object" || params === null) return undefined;
  const { name } = params as { name?: unknown };
  return typeof name === "string" ? name : undefined;
}
