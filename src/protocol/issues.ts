import type { z } from "zod";

/** `stages.route.batchSize`, `to.agents[0]`: the path of a zod issue as a reader would write it. */
export function issuePath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out === "" ? "(root)" : out;
}

/**
 * zod says only "Invalid input" when no member of a union fits, and the one union of our
 * schemas that a caller meets is a JSON value (a message body).
 */
function messageOf(issue: z.core.$ZodIssue): string {
  return issue.code === "invalid_union" && issue.message === "Invalid input"
    ? "expected a JSON value (text, a number, true/false, null, an array or an object); give one"
    : issue.message;
}

/** A field as an error names it: `field \`to.agents\``. */
const nameField = (path: string): string => `field \`${path}\``;

/**
 * One line per problem: `field \`to.agents\`: expected array, received string`. `nameOf`
 * names a field (by its path) as the reader knows it, such as a command-line option.
 */
export function describeIssues(
  error: z.ZodError,
  maxIssues = 5,
  nameOf: (path: string) => string = nameField,
): string {
  const lines = error.issues
    .slice(0, maxIssues)
    .map((issue) => `${nameOf(issuePath(issue.path))}: ${messageOf(issue)}`);
  const more = error.issues.length - maxIssues;
  if (more > 0) lines.push(`(and ${more} more)`);
  return lines.join("; ");
}

/** The path of the first issue, for errors that carry one `field`. */
export function firstIssuePath(error: z.ZodError): string | undefined {
  const first = error.issues[0];
  return first === undefined ? undefined : issuePath(first.path);
}
