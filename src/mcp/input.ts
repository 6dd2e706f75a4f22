import type { StandardSchemaWithJSON } from "@modelcontextprotocol/server";
import type { z } from "zod";

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
 * itself (`parseArguments` in protocol/arguments.ts), so a wrong argument comes back like every other error
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
