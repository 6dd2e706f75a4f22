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

/** One line describing an error: its message, with the field when the message lacks it. */
export function describeError(error: unknown): string {
  if (error instanceof SwitchboardError) {
    const { field, message } = error;
    return field === undefined || namesField(message, field)
      ? message
      : `${message} (field \`${field}\`)`;
  }
  if (error instanceof ZodError) return describeIssues(error);
  return error instanceof Error ? error.message : String(error);
}

/** Whether a message names its field already: \`to\` in backticks, or an option such as --stages. */
function namesField(message: string, field: string): boolean {
  return message.includes(`\`${field}\``) || (field.startsWith("--") && message.includes(field));
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
