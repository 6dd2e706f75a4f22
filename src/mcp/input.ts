import type { StandardSchemaWithJSON } from "@modelcontextprotocol/server";
import type { z } from "zod";
import { SwitchboardError } from "../protocol/errors.js";
import { describeIssues, firstIssuePath } from "../protocol/issues.js";

type Converter = StandardSchemaWithJSON["~standard"]["jsonSchema"];
type ConvertOptions = Parameters<Converter["input"]>[0];

/** A schema's JSON Schema, converted once per target, not on every `tools/list`. */
function cachedJsonSchema(schema: z.ZodType): Converter {
  const jsonSchema = schema["~standard"].jsonSchema;
  const cache = new Map<string, Record<string, unknown>>();
  const convert =
    (io: "input" | "output") =>
    (options: ConvertOptions): Record<string, unknown> => {
      const key = `${io} ${options.target}`;
      const json = cache.get(key) ?? jsonSchema[io](options);
      cache.set(key, json);
      return json;
    };
  return { input: convert("input"), output: convert("output") };
}

/**
 * Tool arguments are advertised with the tools' zod schemas but checked by the tool
 * itself ({@link parseArguments}), so a wrong argument comes back like every other error
 * (`INVALID_INPUT: field \`to\`: …`, with the inbox digest) and an unknown one names the
 * fix, instead of the SDK's generic `Input validation error`.
 */
export function advertised(schema: z.ZodObject): StandardSchemaWithJSON {
  return {
    "~standard": {
      version: 1,
      vendor: "switchboard",
      validate: (value: unknown) => ({ value }),
      jsonSchema: cachedJsonSchema(schema),
    },
  };
}

/** An output schema: validated by zod, its JSON Schema converted once. */
export function validated<S extends z.ZodType>(schema: S): StandardSchemaWithJSON {
  return {
    "~standard": {
      ...schema["~standard"],
      jsonSchema: cachedJsonSchema(schema),
    },
  };
}

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
