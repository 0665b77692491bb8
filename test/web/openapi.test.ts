import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DOCUMENT_PATH, generateApi, TYPES_PATH } from "../../web/scripts/gen-api";

describe("the web client's API types", () => {
  it("match the OpenAPI document the API serves (run npm run gen:api when this fails)", async () => {
    const { document, types } = await generateApi();
    expect(JSON.parse(readFileSync(DOCUMENT_PATH, "utf8")), "web/openapi.json is stale").toEqual(
      JSON.parse(document),
    );
    expect(readFileSync(TYPES_PATH, "utf8") === types, "web/src/api/schema.d.ts is stale").toBe(true);
  });
});
