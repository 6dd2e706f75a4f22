import type { z } from "zod";
import { SwitchboardError } from "./errors.js";
import { describeIssues, firstIssuePath } from "./issues.js";

/**
 * Arguments of a tool, however they arrive (an MCP tool call, a `/v1` request), checked
 * against its input schema: a wrong one is INVALID_INPUT naming the field and the fix.
 */

/** What to say about an argument a tool does not take. */
function unknownArgument(key: string, known: readonly string[]): string {
  if (key === "from") {
    return (
      "field `from`: not an argument; the sender is always the agent of this session or token " +
      "(register_agent, or present your token), so remove `from`"
    );
  }
  const list =
    known.length === 0 ? "this tool takes no arguments" : `the arguments are ${known.join(", ")}`;
  return `field \`${key}\`: unknown argument; ${list}`;
}

/** Parses tool arguments; INVALID_INPUT naming the first wrong field and the fix. */
export function parseArguments<S extends z.ZodObject>(schema: S, args: unknown): z.output<S> {
  const parsed = schema.safeParse(args ?? {});
  if (parsed.success) return parsed.data;
  const unknown = parsed.error.issues.flatMap((issue) =>
    issue.code === "unrecognized_keys" ? issue.keys : [],
  );
  const first = unknown[0];
  if (first !== undefined) {
    const known = Object.keys(schema.shape);
    throw new SwitchboardError(
      "INVALID_INPUT",
      unknown.map((key) => unknownArgument(key, known)).join("; "),
      { field: first },
    );
  }
  throw new SwitchboardError("INVALID_INPUT", describeIssues(parsed.error), {
    field: firstIssuePath(parsed.error),
  });
}
