import { AppError } from "../errors";
import type { ToolInfo } from "../mcp/discover";

type Json = Record<string, unknown>;

const JSON_SCHEMA_TYPES = ["string", "number", "integer", "boolean", "object", "array", "null"];

// Types some MCP servers write instead of JSON Schema's; Dify rejects the whole tool list on them.
const TYPE_ALIASES: Record<string, string> = {
  int: "integer",
  float: "number",
  double: "number",
  str: "string",
  text: "string",
  bool: "boolean",
  dict: "object",
  map: "object",
  list: "array",
  tuple: "array",
};

const SUBSCHEMA_MAPS = ["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"];
const SUBSCHEMA_LISTS = ["anyOf", "oneOf", "allOf", "prefixItems"];
const SUBSCHEMAS = ["additionalProperties", "not", "if", "then", "else", "contains", "propertyNames"];

const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const incompatible = (tool: string, property: string, detail: string) =>
  new AppError(
    "tools_incompatible",
    `Tool "${tool}" cannot be published to Dify: ${property ? `property "${property}"` : "its input schema"} ${detail}. Fix the tool's input schema on the MCP server.`,
    { details: { tool, property } },
  );

const fixType = (type: unknown, tool: string, path: string): string => {
  const name = typeof type === "string" ? type.toLowerCase() : undefined;
  const fixed = name && (JSON_SCHEMA_TYPES.includes(name) ? name : TYPE_ALIASES[name]);
  if (!fixed)
    throw incompatible(tool, path, `has type ${JSON.stringify(type)}, which is not a JSON Schema type`);
  return fixed;
};

/** A copy of `schema` with every `type` spelled as JSON Schema spells it, however deep. */
const fixSchema = (schema: unknown, tool: string, path: string): unknown => {
  if (!isObject(schema)) return schema;
  const fixed: Json = { ...schema };
  if ("type" in schema)
    fixed.type = Array.isArray(schema.type)
      ? [...new Set(schema.type.map((type) => fixType(type, tool, path)))]
      : fixType(schema.type, tool, path);
  for (const key of SUBSCHEMA_MAPS) {
    const map = schema[key];
    if (isObject(map))
      fixed[key] = Object.fromEntries(
        Object.entries(map).map(([name, sub]) => [
          name,
          fixSchema(sub, tool, key === "properties" ? (path ? `${path}.${name}` : name) : path),
        ]),
      );
  }
  for (const key of SUBSCHEMA_LISTS) {
    const list = schema[key];
    if (Array.isArray(list)) fixed[key] = list.map((sub) => fixSchema(sub, tool, path));
  }
  for (const key of SUBSCHEMAS) if (key in schema) fixed[key] = fixSchema(schema[key], tool, path);
  if ("items" in schema)
    fixed.items = Array.isArray(schema.items)
      ? schema.items.map((sub) => fixSchema(sub, tool, `${path}[]`))
      : fixSchema(schema.items, tool, `${path}[]`);
  return fixed;
};

// Dify turns each top-level property into a parameter of its own type enum, taking the first
// entry of a type list: a leading or lone "null" there, or a non-object property, breaks the list.
const checkTopLevel = (schema: Json, tool: string): Json => {
  if (!isObject(schema.properties)) return schema;
  const properties: Json = {};
  for (const [name, property] of Object.entries(schema.properties)) {
    if (!isObject(property)) throw incompatible(tool, name, "is not a schema object");
    const types = Array.isArray(property.type) ? property.type.filter((type) => type !== "null") : undefined;
    if (property.type === "null" || types?.length === 0)
      throw incompatible(tool, name, "only allows null, which Dify cannot show as a parameter");
    properties[name] =
      types && types.length < (property.type as unknown[]).length
        ? { ...property, type: [...types, "null"] }
        : property;
  }
  return { ...schema, properties };
};

const inputSchemaOf = (tool: ToolInfo): Json => {
  const fixed = isObject(tool.inputSchema) ? (fixSchema(tool.inputSchema, tool.name, "") as Json) : {};
  if (fixed.type === undefined) fixed.type = "object";
  if (fixed.type !== "object") throw incompatible(tool.name, "", 'must have type "object"');
  if (fixed.properties === undefined) fixed.properties = {};
  return checkTopLevel(fixed, tool.name);
};

/**
 * The `tools` column of Dify's tool_mcp_providers: the JSON array Dify writes itself
 * (`json.dumps([tool.model_dump() ...])`), with `_meta` under Dify's field name `meta`, a
 * description never null, and input schemas whose types Dify can read. Throws
 * `tools_incompatible` for a type that cannot be mapped.
 */
export function toDifyTools(tools: ToolInfo[]): string {
  return JSON.stringify(
    tools.map((tool) => ({
      name: tool.name,
      ...(tool.title == null ? {} : { title: tool.title }),
      description: tool.description ?? "",
      inputSchema: inputSchemaOf(tool),
      ...(tool.outputSchema == null ? {} : { outputSchema: tool.outputSchema }),
      ...(tool.annotations == null ? {} : { annotations: tool.annotations }),
      ...(tool.meta == null ? {} : { meta: tool.meta }),
    })),
  );
}
