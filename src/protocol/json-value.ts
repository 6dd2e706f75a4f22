import { z } from "zod";
import { SwitchboardError } from "./errors.js";

/**
 * JSON values from outside (a message body, an agent's metadata) nest as deep as the sender
 * likes: `JSON.parse` takes 100,000 levels, but every recursive step after it (zod's
 * `z.json()`, `JSON.stringify`, the codec) overflows the stack somewhere past 1,000. So the
 * depth is measured first, iteratively, and a value nested deeper than allowed is refused
 * before anything recursive sees it.
 */

/**
 * The deepest any JSON value from outside may nest, whatever the pipeline file says
 * (`limits.maxBodyDepth` may only lower it): far below where zod or `JSON.stringify`
 * overflow the stack, even when called deep in a stack of their own.
 * @defaultValue 256
 */
export const MAX_JSON_DEPTH = 256;

/**
 * Whether `value` nests more than `maxDepth` arrays and objects inside one another
 * (`1` is 0 deep, `[1]` 1, `{"a": [1]}` 2). Iterative, so it cannot overflow; stops at the
 * first path that is too deep.
 */
export function nestsDeeperThan(value: unknown, maxDepth: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [node, depth] = item;
    if (typeof node !== "object" || node === null) continue;
    if (depth + 1 > maxDepth) return true;
    const children: unknown[] = Array.isArray(node) ? node : Object.values(node);
    for (const child of children) {
      if (typeof child === "object" && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

/** What a caller reads when a value nests too deep: the field, the limit, the fix. */
export function tooDeepMessage(maxDepth: number, setting?: string): string {
  const operators = setting === undefined ? "" : ` (operators: \`${setting}\`)`;
  return `nests more than ${maxDepth} levels of arrays and objects inside one another; allowed are 0 to ${maxDepth} levels: flatten it${operators}`;
}

/**
 * Any JSON value (`z.json()`), refused with a clear issue when it nests deeper than
 * `maxDepth`, before `z.json()` recurses into it. Advertised as `z.json()` is.
 */
export function jsonValueSchema(maxDepth: number = MAX_JSON_DEPTH) {
  return z.preprocess((value, ctx) => {
    if (nestsDeeperThan(value, maxDepth)) {
      ctx.addIssue({ code: "custom", message: tooDeepMessage(maxDepth), input: value });
    }
    return value;
  }, z.json());
}

/**
 * Refuses a body nested deeper than the pipeline's `limits.maxBodyDepth` (INVALID_INPUT,
 * field `body`), before it is measured or encoded (both recursive).
 */
export function checkBodyDepth(body: unknown, maxDepth: number): void {
  if (nestsDeeperThan(body, maxDepth)) {
    throw new SwitchboardError(
      "INVALID_INPUT",
      `field \`body\`: ${tooDeepMessage(maxDepth, "limits.maxBodyDepth")}`,
      { field: "body" },
    );
  }
}

/**
 * Refuses a body nested deeper than `limits.maxBodyDepth` (measured first, iteratively) or
 * over `limits.maxBodyBytes`, before anything is accepted: `send_message` and `switchboard
 * send --file` refuse it at once; validate checks both again, for producers that bypass them.
 */
export function checkBody(
  body: unknown,
  { maxBodyBytes, maxBodyDepth }: { maxBodyBytes: number; maxBodyDepth: number },
): void {
  checkBodyDepth(body, maxBodyDepth);
  const bytes = Buffer.byteLength(JSON.stringify(body), "utf8");
  if (bytes > maxBodyBytes) {
    throw new SwitchboardError(
      "TOO_LARGE",
      `body is ${bytes} bytes, over the limit of ${maxBodyBytes}; send a smaller body or a link to the data`,
      { field: "body" },
    );
  }
}
