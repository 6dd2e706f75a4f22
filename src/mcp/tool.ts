import type {
  CallToolResult,
  McpServer,
  ServerContext,
  ToolAnnotations,
} from "@modelcontextprotocol/server";
import { z } from "zod";
import type { Digest } from "../inbox/inbox.js";
import { SwitchboardError } from "../protocol/errors.js";
import { ToolInputs, type ToolInput, type ToolName } from "../protocol/tools.js";
import type { Switchboard } from "../service/switchboard.js";
import type { Logger } from "../telemetry/log.js";
import { toolCall } from "../telemetry/record.js";
import type { Caller, Identity } from "./identity.js";
import { parseArguments } from "../protocol/arguments.js";
import { advertised, validated } from "./input.js";
import { DigestSchema } from "../protocol/tool-outputs.js";
import { digestText } from "./text.js";
import { traceTool } from "./tracing.js";

/** The `_meta` key of an isError result holding the error's data: `{code, retry_after_seconds}`. */
export const ERROR_META_KEY = "switchboard/error";

/** What every tool works with: the service, and who is calling on this connection. */
export interface ToolDeps {
  service: Switchboard;
  identity: Identity;
  log: Logger;
}

export interface ToolCall<N extends ToolName, C> {
  input: ToolInput<N>;
  caller: C;
  ctx: ServerContext;
  deps: ToolDeps;
}

export interface ToolOutcome<D> {
  data: D;
  /** One short line for people; the digest is appended. */
  text: string;
  /** Whose inbox digest to attach, when not the caller's; null for none. */
  digestOf?: string | null;
}

interface ToolSpec<N extends ToolName, O extends z.ZodRawShape> {
  name: N;
  title: string;
  description: string;
  output: O;
  annotations?: ToolAnnotations;
  /**
   * Whether the call leaves the caller's inbox as it was, so that its digest may be read
   * while the tool runs (one round trip less) instead of after it.
   */
  keepsInbox?: (input: ToolInput<N>) => boolean;
}

/** A tool by name, and what registers it on a server (server.ts calls it). */
export interface ToolRegistration {
  name: ToolName;
  register(server: McpServer, deps: ToolDeps): void;
}

/**
 * A schema's type without the index signatures of loose objects, so the service's
 * interfaces (AgentView, InboxMessage, …) fit the output schemas that describe them.
 */
type Plain<T> = T extends readonly (infer U)[]
  ? Plain<U>[]
  : T extends object
    ? { [K in keyof T as string extends K ? never : K]: Plain<T[K]> }
    : T;
type Output<O extends z.ZodRawShape> = Plain<z.input<z.ZodObject<O>>>;
type Run<N extends ToolName, O extends z.ZodRawShape, C> = (
  call: ToolCall<N, C>,
) => Promise<ToolOutcome<Output<O>>>;

/** A tool only agents may call: UNAUTHENTICATED (with the fix) for anyone else. */
export function defineAgentTool<N extends ToolName, O extends z.ZodRawShape>(
  spec: ToolSpec<N, O>,
  run: Run<N, O, Caller>,
): ToolRegistration {
  return defineTool(spec, (ctx, deps) => deps.identity.require(ctx), run);
}

/** A tool anyone may call; `caller` is undefined for a caller who is not an agent (yet). */
export function defineOpenTool<N extends ToolName, O extends z.ZodRawShape>(
  spec: ToolSpec<N, O>,
  run: Run<N, O, Caller | undefined>,
): ToolRegistration {
  return defineTool(spec, (ctx, deps) => deps.identity.optional(ctx), run);
}

/**
 * The wrapping every tool shares: resolve the caller, record the contact, check the
 * arguments, run, attach the caller's inbox digest (structured and as text), and turn
 * errors into `isError` results: `CODE: message` naming the field for domain errors, a
 * generic line (and a log entry) for anything unforeseen.
 */
function defineTool<N extends ToolName, O extends z.ZodRawShape, C extends Caller | undefined>(
  spec: ToolSpec<N, O>,
  resolve: (ctx: ServerContext, deps: ToolDeps) => Promise<C>,
  run: Run<N, O, C>,
): ToolRegistration {
  const input = ToolInputs[spec.name] as z.ZodObject;
  const inputSchema = advertised(input);
  const outputSchema = validated(z.object({ ...spec.output, inbox: DigestSchema.optional() }));
  const register = (server: McpServer, deps: ToolDeps): void => {
    server.registerTool(
      spec.name,
      {
        title: spec.title,
        description: spec.description,
        inputSchema,
        outputSchema,
        annotations: spec.annotations,
      },
      traceTool(spec.name, async (args: unknown, ctx: ServerContext): Promise<CallToolResult> => {
        const recorded = toolCall(spec.name);
        let caller: C | undefined;
        try {
          caller = await resolve(ctx, deps);
          const parsed = parseArguments(input, args) as ToolInput<N>;
          // The contact is recorded (and, when the call keeps the inbox, its digest read)
          // while the tool works: a round trip less per call.
          const early = spec.keepsInbox?.(parsed) === true;
          const [, outcome, earlyDigest] = await Promise.all([
            caller === undefined ? undefined : deps.service.touch(caller.agent),
            run({ input: parsed, caller, ctx, deps }),
            early ? digestOf(deps, undefined, caller) : undefined,
          ]);
          const digest =
            early && outcome.digestOf === undefined
              ? earlyDigest
              : await digestOf(deps, outcome.digestOf, caller);
          const data = digest === undefined ? outcome.data : { ...outcome.data, inbox: digest };
          return recorded(success(outcome.text, digest, data));
        } catch (error) {
          return recorded(failure(spec.name, error, deps, await digestOf(deps, undefined, caller)));
        }
      }),
    );
  };
  return { name: spec.name, register };
}

async function digestOf(
  deps: ToolDeps,
  agent: string | null | undefined,
  caller: Caller | undefined,
): Promise<Digest | undefined> {
  const whose = agent === undefined ? caller?.agent : agent;
  if (whose === undefined || whose === null) return undefined;
  return deps.service.digest(whose).catch(() => undefined);
}

function withDigest(text: string, digest: Digest | undefined): string {
  return digest === undefined ? text : `${text}; ${digestText(digest)}`;
}

/** The readable line first, then the structured content as JSON for clients that show text only. */
function success(text: string, digest: Digest | undefined, data: object): CallToolResult {
  return {
    content: [
      { type: "text", text: withDigest(text, digest) },
      { type: "text", text: JSON.stringify(data) },
    ],
    structuredContent: data,
  };
}

function failure(
  tool: string,
  error: unknown,
  deps: ToolDeps,
  digest: Digest | undefined,
): CallToolResult {
  let text: string;
  let meta: CallToolResult["_meta"];
  if (error instanceof SwitchboardError) {
    const { code, field, message, data } = error;
    const named = field === undefined || message.includes(`\`${field}\``);
    text = `${code}: ${message}${named ? "" : ` (field \`${field}\`)`}`;
    // Facts a program acts on (RATE_LIMITED's retry_after_seconds), beside the words.
    if (data !== undefined) meta = { [ERROR_META_KEY]: { code, ...data } };
  } else {
    deps.log.error("tool failed", {
      tool,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
    text = "INTERNAL: internal error, logged; try again, and report it if it persists";
  }
  const result: CallToolResult = {
    content: [{ type: "text", text: withDigest(text, digest) }],
    isError: true,
  };
  if (meta !== undefined) result._meta = meta;
  return result;
}
