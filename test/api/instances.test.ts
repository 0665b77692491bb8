import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type McpUpstream, startHangingServer, startMcpUpstream } from "../../dev/mcp-upstream";
import { interceptDynamo, internalError } from "../support/dynamodb-faults";
import { startTestRuntime } from "../support/runtime";

let t: Awaited<ReturnType<typeof startTestRuntime>>;
let upstream: McpUpstream;
let keyed: McpUpstream;

beforeAll(async () => {
  t = await startTestRuntime();
  upstream = await startMcpUpstream({ toolCount: 120, pageSize: 50 });
  keyed = await startMcpUpstream({
    requireHeader: { name: "x-api-key", value: "upstream-secret-key-123456" },
  });
});
afterAll(async () => {
  await t.close();
  await upstream.close();
  await keyed.close();
});

const instanceBody = (overrides: Record<string, unknown> = {}) => ({
  name: "Everything",
  upstream: { url: upstream.mcpUrl, transport: "streamable-http" },
  ...overrides,
});

describe("instances", () => {
  it("registers an instance and discovers every page of its tools", async () => {
    const created = await t.request("POST", "/api/instances", instanceBody({ name: "GitHub Issues!" }));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: "GitHub Issues!",
      identifier: "github-issues",
      identifierLocked: false,
      icon: { emoji: "🔗", background: "#6366F1" },
      timeouts: { timeout: 30, sseReadTimeout: 300 },
      enabled: true,
      discovery: { ok: true },
      server: { name: expect.any(String), protocolVersion: expect.any(String) },
    });
    expect(created.body.toolCount).toBeGreaterThan(120);
    expect(created.body.gatewayUrl).toBe(`https://gateway.example.test/gateway/${created.body.id}/mcp`);
    const tools = await t.request("GET", `/api/instances/${created.body.id}/tools`);
    expect(tools.body.tools).toHaveLength(created.body.toolCount);
    expect(tools.body.tools.map((tool: { name: string }) => tool.name)).toContain("tool_120");
  });

  it("discovers over SSE too", async () => {
    const created = await t.request(
      "POST",
      "/api/instances",
      instanceBody({ name: "Over SSE", upstream: { url: upstream.sseUrl, transport: "sse" } }),
    );
    expect(created.body.discovery).toMatchObject({ ok: true });
  });

  it("sends the default headers to the upstream and masks them in responses", async () => {
    const created = await t.request(
      "POST",
      "/api/instances",
      instanceBody({
        name: "Keyed",
        upstream: { url: keyed.mcpUrl, transport: "streamable-http" },
        headers: { "X-Api-Key": "upstream-secret-key-123456" },
      }),
    );
    expect(created.body.discovery).toMatchObject({ ok: true });
    expect(created.body.headers).toEqual({ "X-Api-Key": "••••3456" });
    expect(created.text).not.toContain("upstream-secret-key-123456");
    const seen = keyed.requests.filter(
      (request) => request.headers["x-api-key"] === "upstream-secret-key-123456",
    );
    expect(seen.length).toBeGreaterThan(0);
    expect(keyed.requests.every((request) => request.headers.authorization === undefined)).toBe(true);

    const kept = await t.request("PATCH", `/api/instances/${created.body.id}`, {
      headers: { "X-Api-Key": { keep: true }, "X-Team": "blue" },
    });
    expect(kept.status).toBe(200);
    expect(Object.keys(kept.body.headers).sort()).toEqual(["X-Api-Key", "X-Team"]);
    const rediscovered = await t.request("POST", `/api/instances/${created.body.id}/discover`);
    expect(rediscovered.body.discovery).toMatchObject({ ok: true });
    expect(keyed.requests.at(-1)?.headers["x-team"]).toBe("blue");
  });

  it("saves an instance whose discovery fails, with the failure named", async () => {
    const unauthorized = await t.request(
      "POST",
      "/api/instances",
      instanceBody({
        name: "Wrong key",
        upstream: { url: keyed.mcpUrl, transport: "streamable-http" },
        headers: { "X-Api-Key": "nope" },
      }),
    );
    expect(unauthorized.status).toBe(201);
    expect(unauthorized.body.discovery).toMatchObject({ ok: false, code: "upstream_auth_failed" });

    const closed = await t.request(
      "POST",
      "/api/instances",
      instanceBody({
        name: "Closed",
        upstream: { url: "http://127.0.0.1:1/mcp", transport: "streamable-http" },
      }),
    );
    expect(closed.body.discovery).toMatchObject({ ok: false, code: "upstream_unreachable" });

    const hanging = await startHangingServer();
    try {
      const slow = await t.request(
        "POST",
        "/api/instances",
        instanceBody({
          name: "Hangs",
          upstream: { url: `${hanging.url}/mcp`, transport: "streamable-http" },
          timeouts: { timeout: 1, sseReadTimeout: 5 },
        }),
      );
      expect(slow.body.discovery).toMatchObject({ ok: false, code: "upstream_timeout" });
    } finally {
      await hanging.close();
    }
  });

  it("saves an instance whose tool list is too large to keep, with the failure named", async () => {
    // About 600 KB of tool descriptions that do not compress.
    const huge = await startMcpUpstream({
      toolCount: 300,
      describeTool: () => randomBytes(1500).toString("base64"),
    });
    try {
      const created = await t.request(
        "POST",
        "/api/instances",
        instanceBody({
          name: "Huge",
          identifier: "huge",
          upstream: { url: huge.mcpUrl, transport: "streamable-http" },
        }),
      );
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ toolCount: 0, discovery: { ok: false, code: "tools_too_large" } });
      const listed = (await t.request("GET", "/api/instances?limit=200")).body.items;
      expect(listed.filter((item: { identifier: string }) => item.identifier === "huge")).toHaveLength(1);
      expect((await t.request("GET", `/api/instances/${created.body.id}/tools`)).body).toBeNull();
    } finally {
      await huge.close();
    }
  });

  it("stores nothing when a create fails part way", async () => {
    const before = (await t.request("GET", "/api/instances?limit=200")).body.items.length;
    // DynamoDB fails the write that records the discovery, after the instance item is stored.
    let refused = 0;
    const release = interceptDynamo(t.runtime.store, (command, input) => {
      if (command === "UpdateItemCommand" && refused === 0 && input.includes('"INSTANCE"')) {
        refused++;
        throw internalError();
      }
    });
    let failed: Awaited<ReturnType<typeof t.request>>;
    try {
      failed = await t.request("POST", "/api/instances", instanceBody({ name: "Half", identifier: "half" }));
    } finally {
      release();
    }
    expect(refused).toBe(1);
    expect(failed.status).toBe(500);
    expect((await t.request("GET", "/api/instances?limit=200")).body.items).toHaveLength(before);

    const again = await t.request(
      "POST",
      "/api/instances",
      instanceBody({ name: "Half", identifier: "half" }),
    );
    expect(again.status).toBe(201);
    expect(
      (await t.request("GET", "/api/audit?action=instance.create&limit=200")).body.items.filter(
        (event: { target: { id: string } }) => event.target.id === failed.body?.id,
      ),
    ).toHaveLength(0);
  });

  it("keeps identifiers unique and fixed once synced", async () => {
    const first = await t.request(
      "POST",
      "/api/instances",
      instanceBody({ name: "Twin", identifier: "twin" }),
    );
    expect(first.status).toBe(201);
    const taken = await t.request(
      "POST",
      "/api/instances",
      instanceBody({ name: "Twin", identifier: "twin" }),
    );
    expect(taken.status).toBe(409);
    expect(taken.body.code).toBe("identifier_taken");
    const derived = await t.request("POST", "/api/instances", instanceBody({ name: "Twin" }));
    expect(derived.body.identifier).toBe("twin-2");

    const renamed = await t.request("PATCH", `/api/instances/${derived.body.id}`, {
      identifier: "twin-renamed",
    });
    expect(renamed.body.identifier).toBe("twin-renamed");
    const reuse = await t.request(
      "POST",
      "/api/instances",
      instanceBody({ name: "Other", identifier: "twin-2" }),
    );
    expect(reuse.status).toBe(201);
  });

  it("answers a stale update with conflict", async () => {
    const created = await t.request("POST", "/api/instances", instanceBody({ name: "Versioned" }));
    expect(
      (await t.request("PATCH", `/api/instances/${created.body.id}`, { description: "a", version: 1 }))
        .status,
    ).toBe(200);
    const stale = await t.request("PATCH", `/api/instances/${created.body.id}`, {
      description: "b",
      version: 1,
    });
    expect(stale.status).toBe(409);
  });

  it("deletes an instance and frees its identifier", async () => {
    const created = await t.request(
      "POST",
      "/api/instances",
      instanceBody({ name: "Gone", identifier: "gone" }),
    );
    expect((await t.request("DELETE", `/api/instances/${created.body.id}`)).status).toBe(204);
    expect((await t.request("GET", `/api/instances/${created.body.id}`)).status).toBe(404);
    expect(
      (await t.request("POST", "/api/instances", instanceBody({ name: "Gone again", identifier: "gone" })))
        .status,
    ).toBe(201);
  });

  it.each([
    ["name", { name: "x".repeat(41) }],
    ["identifier", { identifier: "Has Spaces" }],
    ["identifier", { identifier: "a".repeat(25) }],
    ["upstream.url", { upstream: { url: "ftp://example.com/mcp", transport: "sse" } }],
    ["upstream.url", { upstream: { url: "javascript:alert(1)", transport: "sse" } }],
    ["upstream.transport", { upstream: { url: "https://example.com/mcp", transport: "websocket" } }],
    ["headers.X Team", { headers: { "X Team": "a" } }],
    ["headers.X-Team", { headers: { "X-Team": "a\r\nInjected: yes" } }],
    ["headers.Host", { headers: { Host: "evil.example" } }],
  ])("refuses an invalid %s with 400 naming the field", async (path, overrides) => {
    const response = await t.request("POST", "/api/instances", instanceBody(overrides));
    expect(response.status).toBe(400);
    expect(response.body.code).toBe("invalid_request");
    expect(response.body.details.map((detail: { path: string }) => detail.path)).toContain(path);
  });
});

describe("bad input never causes a 5xx", () => {
  it("holds for random JSON posted to every write endpoint", async () => {
    const instance = (await t.request("POST", "/api/instances", instanceBody({ name: "Fuzzed" }))).body;
    const endpoints: Array<[string, string]> = [
      ["POST", "/api/platforms"],
      ["POST", "/api/platforms/check"],
      ["PATCH", "/api/platforms/plt_00000000000000000000000000"],
      ["POST", "/api/instances"],
      ["PATCH", `/api/instances/${instance.id}`],
      ["PUT", `/api/instances/${instance.id}/access/plt_00000000000000000000000000/space`],
      ["PATCH", `/api/instances/${instance.id}/access/plt_00000000000000000000000000/space`],
      ["POST", "/api/auth/login"],
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...endpoints), fc.jsonValue(), async ([method, url], value) => {
        const response = await t.request(method, url, value, { headers: { "x-forwarded-for": "192.0.2.1" } });
        expect(response.status, `${method} ${url} ${JSON.stringify(value)}`).toBeLessThan(500);
        if (response.status >= 400) expect(typeof response.body?.code).toBe("string");
      }),
      { numRuns: 150 },
    );
  });
});

describe("instance stream settings and forwarded headers", () => {
  it("defaults the streams, keeps the header names lowercase, and refuses credentials and forwarding headers", async () => {
    const created = await t.request(
      "POST",
      "/api/instances",
      instanceBody({ name: "Streams", forwardHeaders: ["X-Tenant-Hint"] }),
    );
    const changed = await t.request("PATCH", `/api/instances/${created.body.id}`, {
      streams: { onLambda: true, maxSeconds: 300, perSpace: 2 },
    });
    const refused = await Promise.all(
      [["Authorization"], ["X-Forwarded-Host"], ["x_api_key"]].map((forwardHeaders) =>
        t.request("POST", "/api/instances", instanceBody({ name: "Refused", forwardHeaders })),
      ),
    );

    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      streams: { onLambda: false, maxSeconds: 840, perSpace: 8 },
      forwardHeaders: ["x-tenant-hint"],
    });
    expect(changed.body).toMatchObject({ streams: { onLambda: true, maxSeconds: 300, perSpace: 2 } });
    expect(refused.map((answer) => [answer.status, answer.body.code])).toEqual([
      [400, "invalid_request"],
      [400, "invalid_request"],
      [400, "invalid_request"],
    ]);
  });
});
