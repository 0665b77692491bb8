import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDifyFixture, type DifyFixture } from "../support/dify-fixture";
import { startTestRuntime } from "../support/runtime";

let t: Awaited<ReturnType<typeof startTestRuntime>>;
let dify: DifyFixture;
let platformId: string;
let instanceId: string;

beforeAll(async () => {
  t = await startTestRuntime();
  dify = await createDifyFixture({ level: "1.15.0", spaces: 2 });
  platformId = await t.createPlatform(dify.url);
  instanceId = await t.createInstance({ upstreamUrl: "http://127.0.0.1:9/mcp" });
});
afterAll(async () => {
  await t.close();
  await dify.close();
});

const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

describe("list cursors", () => {
  const crafted = [
    ["not base64 JSON", "%%%"],
    ["another collection's key", cursorOf({ pk: "ADMIN", sk: "PASSWORD" })],
    ["a key without sk", cursorOf({ pk: "PLATFORM" })],
    ["a key with a number", cursorOf({ pk: "PLATFORM", sk: 7 })],
    ["a key with extra attributes", cursorOf({ pk: "PLATFORM", sk: "plt_x", other: "x" })],
    ["an index key without its index attributes", cursorOf({ pk: "x", sk: "y", gsi1pk: "z" })],
    ["a short JSON array", cursorOf(["x"])],
    ["a space cursor with a NUL", cursorOf(["\u0000", "00000000-0000-0000-0000-000000000000"])],
    ["a JSON string", cursorOf("PLATFORM")],
  ] as const;

  it("answers a crafted cursor 400 invalid_cursor on every list route", async () => {
    const routes = [
      "/api/platforms",
      "/api/instances",
      "/api/syncs",
      "/api/audit",
      `/api/instances/${instanceId}/access`,
      `/api/platforms/${platformId}/spaces`,
    ];
    for (const route of routes) {
      for (const [what, cursor] of crafted) {
        const response = await t.request("GET", `${route}?cursor=${encodeURIComponent(cursor)}`);
        expect(response.status, `${route} with ${what}`).toBe(400);
        expect(response.body.code, `${route} with ${what}`).toBe("invalid_cursor");
      }
    }
  });

  it("still follows the cursors it gave out", async () => {
    await t.createInstance({ upstreamUrl: "http://127.0.0.1:9/mcp", name: "Second" });
    const first = await t.request("GET", "/api/instances?limit=1");
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await t.request("GET", `/api/instances?limit=1&cursor=${first.body.nextCursor}`);
    expect(second.status).toBe(200);
    expect(second.body.items[0].id).not.toBe(first.body.items[0].id);

    const audit = await t.request("GET", "/api/audit?limit=1");
    const next = await t.request("GET", `/api/audit?limit=1&cursor=${audit.body.nextCursor}`);
    expect(next.status).toBe(200);
    expect(next.body.items).toHaveLength(1);
  });
});

describe("unknown routes", () => {
  it("answer 404 not_found as JSON whatever the method, with a session", async () => {
    for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE"]) {
      for (const url of ["/api/nothing-here", "/api/platforms/plt_x/nothing", "/api/"]) {
        const response = await t.request(
          method,
          url,
          method === "GET" || method === "DELETE" ? undefined : {},
        );
        expect(response.status, `${method} ${url}`).toBe(404);
        expect(response.headers.get("content-type"), `${method} ${url}`).toMatch(/application\/json/);
        expect(response.body.code, `${method} ${url}`).toBe("not_found");
      }
    }
  });

  it("answer 401 without a session, since every route but the public ones needs one", async () => {
    const response = await t.request("GET", "/api/nothing-here", undefined, { token: null });
    expect(response.status).toBe(401);
    expect(response.body.code).toBe("unauthorized");
  });
});
