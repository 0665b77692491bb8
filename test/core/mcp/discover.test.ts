import { afterEach, describe, expect, it } from "vitest";
import {
  type McpUpstream,
  type McpUpstreamOptions,
  startHangingServer,
  startMcpUpstream,
  startStatusServer,
} from "../../../dev/mcp-upstream";
import { AppError } from "../../../functions/core/errors";
import { discoverTools, ToolsSnapshot, type UpstreamTransport } from "../../../functions/core/mcp/discover";
import { startMcpUpstreamV2 } from "../../support/mcp-upstream-v2";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
});

const upstream = async (options: McpUpstreamOptions = {}): Promise<McpUpstream> => {
  const started = await startMcpUpstream(options);
  cleanups.push(started.close);
  return started;
};

const endpoint = (server: McpUpstream, transport: UpstreamTransport) =>
  transport === "sse" ? server.sseUrl : server.mcpUrl;

const failure = async (promise: Promise<unknown>): Promise<AppError> => {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
};

const options = { headers: {}, timeoutMs: 10_000 };

describe.each(["streamable-http", "sse"] as const)("discoverTools over %s", (transport) => {
  it("returns the server's identity, protocol version and tools", async () => {
    const server = await upstream({ name: "weather", version: "2.3.4" });

    const snapshot = await discoverTools({ url: endpoint(server, transport), transport }, options);

    expect(ToolsSnapshot.parse(snapshot)).toEqual(snapshot);
    expect(snapshot).toMatchObject({
      serverName: "weather",
      serverVersion: "2.3.4",
      protocolVersion: "2025-11-25",
    });
    expect(Date.parse(snapshot.fetchedAt)).not.toBeNaN();
    expect(snapshot.tools.map((tool) => tool.name)).toEqual(["echo", "add", "slow", "headers"]);
    expect(snapshot.tools[0]).toEqual({
      name: "echo",
      title: "Echo",
      description: "Returns its text argument.",
      inputSchema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
      annotations: { readOnlyHint: true, openWorldHint: false },
      meta: { "spacegate.test/kind": "fixture" },
    });
    expect(snapshot.tools[1]?.outputSchema).toEqual({
      type: "object",
      properties: { sum: { type: "number" } },
      required: ["sum"],
    });
  });

  it("follows nextCursor until every page of tools is collected", async () => {
    const server = await upstream({ toolCount: 120, pageSize: 50 });

    const snapshot = await discoverTools({ url: endpoint(server, transport), transport }, options);

    const names = snapshot.tools.map((tool) => tool.name);
    expect(names).toHaveLength(124);
    expect(new Set(names).size).toBe(124);
    expect(names.at(-1)).toBe("tool_120");
    expect(snapshot.tools.find((tool) => tool.name === "tool_077")?.description).toBe(
      "Generated tool number 77.",
    );
  });

  it("sends the default headers on every request and no Authorization of its own", async () => {
    const server = await upstream();

    await discoverTools(
      { url: endpoint(server, transport), transport },
      { headers: { "X-Api-Key": "key-123", "X-Tenant": "acme" }, timeoutMs: 10_000 },
    );

    expect(server.requests.length).toBeGreaterThanOrEqual(3);
    if (transport === "sse") expect(server.requests[0]).toMatchObject({ method: "GET", path: "/sse" });
    for (const request of server.requests) {
      expect(request.headers).toMatchObject({ "x-api-key": "key-123", "x-tenant": "acme" });
      expect(request.headers).not.toHaveProperty("authorization");
      expect(request.headers).not.toHaveProperty("cookie");
    }
  });

  it("ends its session on the upstream when done", async () => {
    const server = await upstream();

    await discoverTools({ url: endpoint(server, transport), transport }, options);

    await server.sessionsClosed();
    expect(server.openSessions()).toBe(0);
    if (transport === "streamable-http")
      expect(server.requests.some((request) => request.method === "DELETE" && request.path === "/mcp")).toBe(
        true,
      );
  });

  it("passes when the upstream's required API key is among the headers", async () => {
    const server = await upstream({ requireHeader: { name: "x-api-key", value: "right" } });

    const snapshot = await discoverTools(
      { url: endpoint(server, transport), transport },
      { headers: { "x-api-key": "right" }, timeoutMs: 10_000 },
    );

    expect(snapshot.tools).toHaveLength(4);
  });

  it("reports upstream_auth_failed with the upstream's own message on 401", async () => {
    const server = await upstream({ requireHeader: { name: "x-api-key", value: "right" } });

    const error = await failure(
      discoverTools(
        { url: endpoint(server, transport), transport },
        { headers: { "x-api-key": "wrong-key" }, timeoutMs: 10_000 },
      ),
    );

    expect(error).toMatchObject({ code: "upstream_auth_failed", status: 422 });
    expect(error.message).toContain("invalid api key");
    expect(error.message).toContain(server.url);
    expect(error.message).not.toContain("wrong-key");
  });

  it("reports upstream_unreachable for a closed port", async () => {
    const closed = await startStatusServer(200, "");
    await closed.close();

    const error = await failure(discoverTools({ url: `${closed.url}/mcp`, transport }, options));

    expect(error).toMatchObject({ code: "upstream_unreachable", status: 422 });
    expect(error.message).toContain(closed.url);
    expect(error.message).toContain("connection refused");
  });

  it("reports upstream_timeout when the upstream never answers, and closes its connection", async () => {
    const hanging = await startHangingServer();
    cleanups.push(hanging.close);

    const error = await failure(
      discoverTools({ url: `${hanging.url}/mcp`, transport }, { headers: {}, timeoutMs: 500 }),
    );

    expect(error).toMatchObject({ code: "upstream_timeout", status: 422 });
    expect(error.message).toContain(hanging.url);
    await hanging.connectionsClosed();
  });

  it("reports upstream_protocol_error for a server error", async () => {
    const broken = await startStatusServer(500, JSON.stringify({ error: "database is down" }));
    cleanups.push(broken.close);

    const error = await failure(discoverTools({ url: `${broken.url}/mcp`, transport }, options));

    expect(error).toMatchObject({ code: "upstream_protocol_error", status: 422 });
    expect(error.message).toContain("HTTP 500");
    expect(error.message).toContain("database is down");
  });

  it("reports upstream_protocol_error for an HTML page", async () => {
    const website = await startStatusServer(200, "<!doctype html><html><body>Welcome</body></html>");
    cleanups.push(website.close);

    const error = await failure(discoverTools({ url: `${website.url}/mcp`, transport }, options));

    expect(error).toMatchObject({ code: "upstream_protocol_error", status: 422 });
    expect(error.message).toContain("text/html");
    expect(error.message).toContain(website.url);
  });

  it("reports upstream_protocol_error for a path that does not exist", async () => {
    const server = await upstream();

    const error = await failure(discoverTools({ url: `${server.url}/nope`, transport }, options));

    expect(error).toMatchObject({ code: "upstream_protocol_error", status: 422 });
    expect(error.message).toContain("HTTP 404");
  });
});

describe("discoverTools errors", () => {
  it("reports upstream_protocol_error when the transport does not match the server's", async () => {
    const server = await upstream();

    const asSse = await failure(discoverTools({ url: server.mcpUrl, transport: "sse" }, options));
    const asStreamable = await failure(
      discoverTools({ url: server.sseUrl, transport: "streamable-http" }, options),
    );

    expect(asSse.code).toBe("upstream_protocol_error");
    expect(asSse.message).toContain("speaks SSE");
    expect(asStreamable.code).toBe("upstream_protocol_error");
    expect(asStreamable.message).toContain("speaks streamable HTTP");
  });

  it("refuses headers HTTP cannot carry before contacting the upstream", async () => {
    const server = await upstream();

    const error = await failure(
      discoverTools(
        { url: server.mcpUrl, transport: "streamable-http" },
        { headers: { "x-api-key": "bad\nsecret-xyz" }, timeoutMs: 10_000 },
      ),
    );

    expect(error.code).toBe("invalid_headers");
    expect(error.message).not.toContain("secret-xyz");
    expect(server.requests).toHaveLength(0);
  });

  it("never repeats header values the upstream echoes back", async () => {
    const echoing = await startStatusServer(
      403,
      JSON.stringify({ message: "token sk-live-secret is not allowed" }),
    );
    cleanups.push(echoing.close);

    const error = await failure(
      discoverTools(
        { url: `${echoing.url}/mcp`, transport: "streamable-http" },
        { headers: { Authorization: "Bearer sk-live-secret" }, timeoutMs: 10_000 },
      ),
    );

    expect(error.code).toBe("upstream_auth_failed");
    expect(error.message).toContain("HTTP 403");
    expect(error.message).not.toContain("sk-live-secret");
    expect(JSON.stringify(error.details)).not.toContain("sk-live-secret");
  });

  it("reports upstream_protocol_error when initialize is answered with a JSON-RPC error", async () => {
    const refusing = await startStatusServer(
      200,
      JSON.stringify({ jsonrpc: "2.0", id: 0, error: { code: -32600, message: "unsupported client" } }),
    );
    cleanups.push(refusing.close);

    const error = await failure(
      discoverTools(
        { url: `${refusing.url}/mcp`, transport: "streamable-http" },
        { headers: {}, timeoutMs: 2_000 },
      ),
    );

    expect(error.code).toBe("upstream_protocol_error");
    expect(error.message).toContain("unsupported client");
  });

  it("reports upstream_protocol_error for a body that is not JSON", async () => {
    const garbled = await startStatusServer(200, "{not json", "application/json");
    cleanups.push(garbled.close);

    const error = await failure(
      discoverTools({ url: `${garbled.url}/mcp`, transport: "streamable-http" }, options),
    );

    expect(error.code).toBe("upstream_protocol_error");
    expect(error.message).toContain("not JSON");
  });
});

describe("discoverTools and MCP 2026-07-28", () => {
  it("speaks 2026-07-28 to a server that speaks nothing else", async () => {
    const server = await startMcpUpstreamV2({ modernOnly: true });
    cleanups.push(server.close);

    const snapshot = await discoverTools({ url: server.mcpUrl, transport: "streamable-http" }, options);

    expect(snapshot).toMatchObject({
      serverName: "test-upstream-v2",
      serverVersion: "2.0.0",
      protocolVersion: "2026-07-28",
    });
    expect(snapshot.tools.map((tool) => tool.name)).toEqual(["echo", "slow", "headers"]);
    expect(snapshot.tools[0]).toMatchObject({ name: "echo", description: "Echoes its text" });
    expect(server.requests.map((request) => request.mcpMethod)).toContain("server/discover");
  });

  it("falls back to the 2025 handshake with a server that does not speak 2026-07-28", async () => {
    const server = await upstream({ name: "legacy", version: "1.0.0" });

    const snapshot = await discoverTools({ url: server.mcpUrl, transport: "streamable-http" }, options);

    expect(snapshot).toMatchObject({ serverName: "legacy", protocolVersion: "2025-11-25" });
    expect(snapshot.tools).toHaveLength(4);
  });
});
