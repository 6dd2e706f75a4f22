import { SpanKind, SpanStatusCode } from "@opentelemetry/api";
import type { CallToolResult, ServerContext } from "@modelcontextprotocol/server";
import { Attr, contextFrom, failSpan, isTracing, tracer, withSpan } from "../telemetry/spans.js";

type ToolHandler = (args: unknown, ctx: ServerContext) => Promise<CallToolResult>;

const stringOf = (value: unknown) => (typeof value === "string" ? value : undefined);

/**
 * A tool handler in a server span `tools/call <tool>` (MCP semantic conventions), child of
 * the client's `params._meta.traceparent` (and `tracestate`) when it sent a well-formed
 * one, else the root of a new trace; active while the tool runs, so the message a
 * `send_message` accepts, and every log line, belong to it. Arguments and results are
 * never recorded; an `isError` result records its code (`CODE: message`) as `error.type`.
 */
export function traceTool(tool: string, handler: ToolHandler): ToolHandler {
  return function tracedTool(args, ctx) {
    if (!isTracing()) return handler(args, ctx);
    const meta = ctx.mcpReq._meta;
    const parent = contextFrom(stringOf(meta?.traceparent), stringOf(meta?.tracestate));
    const span = tracer.startSpan(
      `tools/call ${tool}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          [Attr.mcpMethod]: "tools/call",
          [Attr.toolName]: tool,
          [Attr.genAiOperation]: "execute_tool",
          [Attr.jsonRpcRequestId]: String(ctx.mcpReq.id),
          ...(ctx.sessionId === undefined ? {} : { [Attr.mcpSession]: ctx.sessionId }),
        },
      },
      parent,
    );
    return withSpan(span, async () => {
      try {
        const result = await handler(args, ctx);
        if (result.isError === true) {
          const first = result.content[0];
          const code = first?.type === "text" ? /^([A-Z_]+):/.exec(first.text)?.[1] : undefined;
          span.setAttribute(Attr.errorType, code ?? "tool_error");
          span.setStatus({ code: SpanStatusCode.ERROR, message: code ?? "tool_error" });
        }
        return result;
      } catch (error) {
        failSpan(span, error);
        throw error;
      } finally {
        span.end();
      }
    });
  };
}
