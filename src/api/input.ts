import { z } from "zod";
import { SwitchboardError } from "../protocol/errors.js";
import { ROUTES, type Route } from "./routes.js";

/** What a method and path lead to: a route (and its `{id}`), the methods the path takes, or nothing. */
export type Match =
  { route: Route; id: string | undefined } | { route: undefined; allow: readonly string[] };

const segmentsOf = (path: string): string[] => path.split("/").slice(1);

const TABLE = ROUTES.map((route) => ({ route, segments: segmentsOf(route.path) }));

/** `{id}` of a request path, decoded; a segment that does not decode is refused. */
function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new SwitchboardError("INVALID_INPUT", `'${segment}' in the path is not percent-encoded`, {
      field: "id",
    });
  }
}

/** The route of a request; the `Allow` list when the path has routes but not this method. */
export function matchRoute(method: string, path: string): Match {
  const segments = segmentsOf(path);
  const allow: string[] = [];
  for (const entry of TABLE) {
    if (entry.segments.length !== segments.length) continue;
    const fits = entry.segments.every(
      (part, i) => part === segments[i] || (part === "{id}" && segments[i] !== ""),
    );
    if (!fits) continue;
    if (entry.route.method !== method) {
      allow.push(entry.route.method);
      continue;
    }
    const at = entry.segments.indexOf("{id}");
    return { route: entry.route, id: at === -1 ? undefined : decoded(segments[at]!) };
  }
  return { route: undefined, allow };
}

/** A field of an object schema without its `optional` and `default` wrappers. */
function fieldType(schema: z.ZodObject, name: string): z.ZodType | undefined {
  let field: z.ZodType | undefined = Object.hasOwn(schema.shape, name)
    ? (schema.shape[name] as z.ZodType)
    : undefined;
  while (field instanceof z.ZodOptional || field instanceof z.ZodDefault) {
    field = field.unwrap() as z.ZodType;
  }
  return field;
}

const NUMBER = /^-?\d+(\.\d+)?$/;

/**
 * A route's input from the query string: a parameter the schema wants as a number becomes
 * one when it is written as one (else it stays text, and the schema names the field); a
 * parameter given twice becomes a list, which the schema refuses. Keys are kept in a
 * null-prototype object, so `__proto__` is a parameter like any other (and unknown).
 */
export function queryInput(query: URLSearchParams, schema: z.ZodObject): Record<string, unknown> {
  const input: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const name of new Set(query.keys())) {
    const numeric = fieldType(schema, name) instanceof z.ZodNumber;
    const values = query
      .getAll(name)
      .map((value) => (numeric && NUMBER.test(value) ? Number(value) : value));
    input[name] = values.length === 1 ? values[0] : values;
  }
  return input;
}

/** A route that takes a JSON body takes nothing in its query string. */
export function refuseQuery(query: URLSearchParams): void {
  const [first] = query.keys();
  if (first === undefined) return;
  throw new SwitchboardError(
    "INVALID_INPUT",
    `field \`${first}\`: this route takes its input as a JSON body, not in the query string; move it into the body`,
    { field: first },
  );
}
