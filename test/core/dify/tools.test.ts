import { describe, expect, test } from "vitest";
import { toDifyTools } from "../../../functions/core/dify/tools";
import { AppError } from "../../../functions/core/errors";
import type { ToolInfo } from "../../../functions/core/mcp/discover";

const tool = (overrides: Partial<ToolInfo> & Record<string, unknown> = {}): ToolInfo => ({
  name: "get_weather",
  description: "Current weather for a city",
  inputSchema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  ...overrides,
});

const shaped = (tools: ToolInfo[]) => JSON.parse(toDifyTools(tools)) as Record<string, unknown>[];

const refusal = (run: () => unknown): AppError => {
  try {
    run();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error("expected a refusal");
};

describe("toDifyTools", () => {
  test("stores each tool under Dify's keys, in Dify's order, with _meta as meta", () => {
    const full = tool({
      title: "Weather",
      outputSchema: { type: "object", properties: { celsius: { type: "number" } } },
      annotations: { readOnlyHint: true },
      meta: { "example.com/owner": "team-a" },
    });

    const [stored] = shaped([full, tool({ name: "plain" })]);

    expect(Object.keys(stored!)).toEqual([
      "name",
      "title",
      "description",
      "inputSchema",
      "outputSchema",
      "annotations",
      "meta",
    ]);
    expect(stored).toEqual({
      name: "get_weather",
      title: "Weather",
      description: "Current weather for a city",
      inputSchema: full.inputSchema,
      outputSchema: full.outputSchema,
      annotations: { readOnlyHint: true },
      meta: { "example.com/owner": "team-a" },
    });
  });

  test("leaves out optional keys a tool does not have", () => {
    expect(Object.keys(shaped([tool()])[0]!)).toEqual(["name", "description", "inputSchema"]);
  });

  test("stores a missing or null description as an empty string", () => {
    const tools = shaped([
      tool({ description: null as unknown as string }),
      tool({ description: undefined as unknown as string }),
    ]);

    expect(tools.map((stored) => stored.description)).toEqual(["", ""]);
  });

  test("gives a tool without an input schema an empty object schema", () => {
    const [missing, untyped] = shaped([
      tool({ inputSchema: undefined as unknown as Record<string, unknown> }),
      tool({ inputSchema: {} }),
    ]);

    expect(missing!.inputSchema).toEqual({ type: "object", properties: {} });
    expect(untyped!.inputSchema).toEqual({ type: "object", properties: {} });
  });

  test("rewrites type aliases to JSON Schema types at every depth", () => {
    const inputSchema = {
      type: "object",
      properties: {
        count: { type: "int" },
        ratio: { type: "Float" },
        label: { type: "str" },
        notes: { type: "text" },
        enabled: { type: "bool" },
        options: {
          type: "dict",
          properties: { depth: { type: "integer" }, scale: { type: "double" } },
          additionalProperties: { type: "str" },
        },
        tags: { type: "list", items: { type: "str" } },
        pair: { type: "tuple", prefixItems: [{ type: "int" }, { type: "float" }] },
        either: { anyOf: [{ type: "map" }, { type: "null" }] },
        maybe: { type: ["str", "null"] },
        type: { type: "str", description: "a property named type" },
      },
      $defs: { Point: { type: "dict", properties: { x: { type: "number" } } } },
    };

    const [stored] = shaped([tool({ inputSchema })]);

    expect(stored!.inputSchema).toEqual({
      type: "object",
      properties: {
        count: { type: "integer" },
        ratio: { type: "number" },
        label: { type: "string" },
        notes: { type: "string" },
        enabled: { type: "boolean" },
        options: {
          type: "object",
          properties: { depth: { type: "integer" }, scale: { type: "number" } },
          additionalProperties: { type: "string" },
        },
        tags: { type: "array", items: { type: "string" } },
        pair: { type: "array", prefixItems: [{ type: "integer" }, { type: "number" }] },
        either: { anyOf: [{ type: "object" }, { type: "null" }] },
        maybe: { type: ["string", "null"] },
        type: { type: "string", description: "a property named type" },
      },
      $defs: { Point: { type: "object", properties: { x: { type: "number" } } } },
    });
  });

  test("does not change the tool it was given", () => {
    const original = tool({ inputSchema: { type: "object", properties: { n: { type: "int" } } } });
    const copy = structuredClone(original);

    toDifyTools([original]);

    expect(original).toEqual(copy);
  });

  test("puts a non-null type first in a top-level property's type list, as Dify reads only the first", () => {
    const [stored] = shaped([
      tool({ inputSchema: { type: "object", properties: { since: { type: ["null", "str"] } } } }),
    ]);

    expect(stored!.inputSchema).toEqual({
      type: "object",
      properties: { since: { type: ["string", "null"] } },
    });
  });

  test("refuses a type it cannot map, naming the tool and the property", () => {
    const error = refusal(() =>
      toDifyTools([
        tool(),
        tool({
          name: "schedule",
          inputSchema: {
            type: "object",
            properties: { when: { type: "object", properties: { day: { type: "date" } } } },
          },
        }),
      ]),
    );

    expect(error.code).toBe("tools_incompatible");
    expect(error.status).toBe(422);
    expect(error.message).toContain('Tool "schedule"');
    expect(error.message).toContain('property "when.day"');
    expect(error.details).toEqual({ tool: "schedule", property: "when.day" });
  });

  test("refuses a non-string type inside an array item schema", () => {
    const error = refusal(() =>
      toDifyTools([
        tool({ inputSchema: { type: "object", properties: { ids: { type: "array", items: { type: 5 } } } } }),
      ]),
    );

    expect(error.code).toBe("tools_incompatible");
    expect(error.details).toEqual({ tool: "get_weather", property: "ids[]" });
  });

  test("refuses an input schema that is not an object", () => {
    const error = refusal(() => toDifyTools([tool({ inputSchema: { type: "array" } })]));

    expect(error.code).toBe("tools_incompatible");
    expect(error.message).toContain('must have type "object"');
  });

  test("refuses a top-level property Dify could not turn into a parameter", () => {
    expect(
      refusal(() =>
        toDifyTools([tool({ inputSchema: { type: "object", properties: { x: { type: "null" } } } })]),
      ).details,
    ).toEqual({ tool: "get_weather", property: "x" });
    expect(
      refusal(() => toDifyTools([tool({ inputSchema: { type: "object", properties: { x: true } } })]))
        .details,
    ).toEqual({ tool: "get_weather", property: "x" });
  });

  test("stores an empty list as an empty JSON array", () => {
    expect(toDifyTools([])).toBe("[]");
  });
});
