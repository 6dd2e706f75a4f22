import { CommanderError } from "commander";
import { ZodError } from "zod";
import { SwitchboardError, type ErrorCode } from "../protocol/errors.js";
import { describeIssues } from "../protocol/issues.js";

/** Exit code of a runtime failure: Redis away, a bug, a bad line in a bulk send. */
export const EXIT_FAILURE = 1;
/** Exit code of a usage, configuration or input error: the command cannot work as given. */
export const EXIT_USAGE = 2;

/** Codes that mean "what you asked for is wrong", as opposed to "something failed". */
const USAGE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "CONFIG",
  "INVALID_INPUT",
  "TOO_LARGE",
]);

/** A usage error of the command line itself, such as an unknown stage in `--stages`. */
export function usageError(message: string, field?: string): SwitchboardError {
  return new SwitchboardError("INVALID_INPUT", message, field === undefined ? {} : { field });
}

/**
 * One line describing an error for a person at the CLI: its message with the hint in CLI
 * words (commands and options, not MCP tools), and the field (or option) when the message
 * lacks it.
 */
export function describeError(error: unknown): string {
  if (error instanceof SwitchboardError) {
    const { field } = error;
    const message = error.messageFor("cli");
    if (field === undefined || namesField(message, field)) return message;
    return field.startsWith("--") ? `${message} (${field})` : `${message} (field \`${field}\`)`;
  }
  if (error instanceof ZodError) return describeIssues(error);
  return error instanceof Error ? error.message : String(error);
}

/** Whether a message names its field already: \`to\` in backticks, or an option such as --stages. */
function namesField(message: string, field: string): boolean {
  return message.includes(`\`${field}\``) || (field.startsWith("--") && message.includes(field));
}

/**
 * The error with its field named as the command's option (`to` → `--to`), message and hint
 * kept; anything else as it is. For errors of the service, whose fields are tool arguments.
 */
export function asOptionError(error: unknown, flags: ReadonlyMap<string, string>): unknown {
  if (!(error instanceof SwitchboardError) || error.field === undefined) return error;
  const flag = flags.get(error.field.replace(/[[.].*$/, ""));
  if (flag === undefined) return error;
  return new SwitchboardError(error.code, error.detail, {
    field: flag,
    hint: error.hint,
    cause: error,
  });
}

/** Runs `work`; an error it throws names the command's options instead of tool arguments. */
export async function withOptionNames<T>(
  flags: ReadonlyMap<string, string>,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw asOptionError(error, flags);
  }
}

/** Where a server was asked to listen, and the options (with their variables) that say so. */
export interface ListenRequest {
  host: string;
  port: number;
  /** Such as `--port (SWITCHBOARD_PORT)`. */
  portOption: string;
  hostOption: string;
}

/**
 * A listen that failed, as an error naming the option that changes it (no stack: the
 * cause is known); any other error as it is.
 */
export function listenError(error: unknown, where: ListenRequest): unknown {
  const { host, port, portOption, hostOption } = where;
  const field = portOption.split(" ")[0];
  switch ((error as NodeJS.ErrnoException | null)?.code) {
    case "EADDRINUSE":
      return usageError(
        `port ${port} on ${host} is in use (another switchboard?); choose another with ${portOption}, or 0 for any free port`,
        field,
      );
    case "EACCES":
      return usageError(
        `not allowed to listen on port ${port} of ${host} (ports below 1024 need privileges); choose another with ${portOption}`,
        field,
      );
    case "EADDRNOTAVAIL":
    case "ENOTFOUND":
      return usageError(
        `cannot listen on ${host}: not an address of this machine; choose another with ${hostOption}`,
        hostOption.split(" ")[0],
      );
    default:
      return error;
  }
}

/** The exit code an error calls for. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT_USAGE;
  if (error instanceof SwitchboardError) {
    return USAGE_CODES.has(error.code) ? EXIT_USAGE : EXIT_FAILURE;
  }
  if (error instanceof ZodError) return EXIT_USAGE;
  return EXIT_FAILURE;
}

/** Makes commander's own messages (`error: unknown option …`) one `switchboard:` line. */
export function formatCommanderMessage(text: string): string {
  const message = text
    .trim()
    .replace(/^error:\s*/, "")
    .replace(/\s*\n\s*/g, " ");
  return `switchboard: ${message}\n`;
}

/**
 * Prints an error as one line on stderr and returns the exit code. Commander has printed its
 * own errors already (through {@link formatCommanderMessage}); an unexpected error shows its
 * stack only when asked for with `debug`.
 */
export function reportError(
  error: unknown,
  debug: boolean,
  write: (text: string) => void = (text) => void process.stderr.write(text),
): number {
  if (!(error instanceof CommanderError)) {
    const expected = error instanceof SwitchboardError || error instanceof ZodError;
    const prefix = expected ? "" : "unexpected error: ";
    write(`switchboard: ${prefix}${describeError(error)}\n`);
    if (!expected && debug && error instanceof Error && error.stack) write(`${error.stack}\n`);
  }
  return exitCodeFor(error);
}
