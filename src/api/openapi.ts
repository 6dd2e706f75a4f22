import { z } from "zod";
import { PROBLEM_CONTENT_TYPE } from "../http/problem.js";
import { ERROR_CODES } from "../protocol/errors.js";
import { ToolOutputs } from "../protocol/tool-outputs.js";
import { ToolInputs } from "../protocol/tools.js";
import { VERSION } from "../version.js";
import { ROUTES, type Route } from "./routes.js";

type JsonSchema = Record<string, unknown>;

const SCHEMAS = "#/components/schemas/";

/**
 * A zod schema as an OpenAPI 3.1 schema (JSON Schema 2020-12). Its `$defs` (the recursive
 * JSON value of a message body) move to `components.schemas` under `name.`, and the refs to
 * them follow, since in an OpenAPI document `#/…` points into the document itself.
 */
function schemaOf(
  schema: z.ZodType,
  io: "input" | "output",
  name: string,
  components: Map<string, JsonSchema>,
): JsonSchema {
  const {
    $schema: _dialect,
    $defs,
    ...json
  } = z.toJSONSchema(schema, {
    io,
    target: "draft-2020-12",
  }) as JsonSchema;
  const moved = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(moved);
    if (typeof value !== "object" || value === null) return value;
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) =>
        key === "$ref" && typeof inner === "string" && inner.startsWith("#/$defs/")
          ? [key, `${SCHEMAS}${name}.${inner.slice("#/$defs/".length)}`]
          : [key, moved(inner)],
      ),
    );
  };
  for (const [def, body] of Object.entries(($defs ?? {}) as JsonSchema)) {
    components.set(`${name}.${def}`, moved(body) as JsonSchema);
  }
  return moved(json) as JsonSchema;
}

const problemSchema: JsonSchema = {
  type: "object",
  description: "RFC 9457 problem details, with the code the MCP tools answer too.",
  properties: {
    type: { type: "string", description: "`urn:switchboard:problem:<code in lowercase>`" },
    title: { type: "string" },
    status: { type: "integer" },
    detail: { type: "string", description: "What was wrong and the fix, in words." },
    instance: { type: "string", description: "The request's path." },
    code: { type: "string", enum: Object.keys(ERROR_CODES) },
    field: { type: "string", description: "The offending field, such as `body` or `to`." },
    data: {
      type: "object",
      description: "Facts a program acts on, such as `retry_after_seconds`.",
    },
  },
  required: ["type", "title", "status", "detail", "code"],
};

const problemResponse = {
  description: "The request was refused: see `code`, `field` and `detail`.",
  content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: `${SCHEMAS}Problem` } } },
};

/** The path parameter and query parameters of a route, from its tool's input schema. */
function parametersOf(route: Route, components: Map<string, JsonSchema>): JsonSchema[] {
  const input = ToolInputs[route.tool] as z.ZodObject;
  if (route.from === "body") return [];
  return Object.entries(input.shape).map(([name, field]) => {
    const id = name === route.id;
    const schema = schemaOf(field as z.ZodType, "input", route.tool, components);
    const { description, ...rest } = schema;
    return {
      name: id ? "id" : name,
      in: id ? "path" : "query",
      required: id || !(field as z.ZodType).safeParse(undefined).success,
      ...(typeof description === "string" ? { description } : {}),
      schema: rest,
    };
  });
}

function operationOf(route: Route, components: Map<string, JsonSchema>): JsonSchema {
  const input = ToolInputs[route.tool] as z.ZodObject;
  const output = z.object(ToolOutputs[route.tool]);
  return {
    operationId: route.tool,
    summary: route.summary,
    description: `The MCP tool \`${route.tool}\`, over HTTP: the same input, checks and output.`,
    security: route.access === "agent" ? [{ bearer: [] }] : [{}, { bearer: [] }],
    parameters: parametersOf(route, components),
    ...(route.from === "body"
      ? {
          requestBody: {
            required: true,
            content: {
              "application/json": { schema: schemaOf(input, "input", route.tool, components) },
            },
          },
        }
      : {}),
    responses: {
      [String(route.status)]: {
        description: route.status === 202 ? "Accepted." : "OK.",
        content: {
          "application/json": {
            schema: schemaOf(output, "output", `${route.tool}.output`, components),
          },
        },
      },
      default: problemResponse,
    },
  };
}

/** The OpenAPI 3.1 document of the `/v1` routes, from the tools' input and output schemas. */
export function openApiDocument(): JsonSchema {
  const components = new Map<string, JsonSchema>([["Problem", problemSchema]]);
  const paths = new Map<string, JsonSchema>();
  for (const route of ROUTES) {
    const item = paths.get(route.path) ?? {};
    item[route.method.toLowerCase()] = operationOf(route, components);
    paths.set(route.path, item);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Switchboard HTTP API",
      version: VERSION,
      description:
        "The operations of Switchboard's MCP tools over plain HTTP, authenticated by an agent's token " +
        "(`Authorization: Bearer sbt_…`); errors are RFC 9457 problem details.",
    },
    paths: Object.fromEntries(paths),
    components: {
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description: "An agent's token, as POST /v1/agents answers it.",
        },
      },
      schemas: Object.fromEntries(components),
    },
  };
}
