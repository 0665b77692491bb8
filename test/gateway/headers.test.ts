import { describe, expect, it } from "vitest";
import { clientResponseHeaders, upstreamRequestHeaders } from "../../functions/gateway/headers";

describe("headers to the upstream", () => {
  it("forwards only what MCP needs and what the instance names, and overlays the space's headers", () => {
    const incoming = {
      authorization: "Bearer sg_secret",
      "x-api-key": "sg_secret",
      cookie: "session=1",
      host: "gateway.example.com",
      connection: "keep-alive, X-Drop-Me",
      "x-drop-me": "1",
      "keep-alive": "timeout=5",
      te: "trailers",
      "transfer-encoding": "chunked",
      "proxy-authorization": "Basic x",
      "mcp-session-id": "abc",
      "mcp-protocol-version": "2025-06-18",
      "last-event-id": "evt_3",
      accept: "application/json, text/event-stream",
      "content-type": "application/json",
      "x-forwarded-for": "198.51.100.1",
      "x-forwarded-host": "evil.example",
      forwarded: "for=198.51.100.1",
      "x-real-ip": "198.51.100.1",
      x_key: "from-client",
      "x-team": "from-client",
      "mcp-method": "tools/call",
      "mcp-name": "echo",
      "mcp-param-city": "Paris",
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      "user-agent": "Dify/1.15",
      "x-tenant-hint": "t1",
      "x-other": "1",
    };

    const { headers, rejected } = upstreamRequestHeaders(incoming, {
      passThrough: [
        { "X-Team": "instance", "X-Key": "instance-key", Connection: "close" },
        { "x-team": "space", "bad name": "x" },
      ],
      forward: ["x-tenant-hint", "authorization"],
      clientIp: "203.0.113.7",
      proto: "https",
      requestId: "req-1",
      contentLength: "42",
    });

    expect(headers).toEqual({
      "mcp-session-id": "abc",
      "mcp-protocol-version": "2025-06-18",
      "last-event-id": "evt_3",
      accept: "application/json, text/event-stream",
      "content-type": "application/json",
      "mcp-method": "tools/call",
      "mcp-name": "echo",
      "mcp-param-city": "Paris",
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      "user-agent": "Dify/1.15",
      "x-tenant-hint": "t1",
      "x-team": "space",
      "x-key": "instance-key",
      "x-forwarded-for": "203.0.113.7",
      "x-forwarded-proto": "https",
      "x-request-id": "req-1",
      "accept-encoding": "identity",
      "content-length": "42",
    });
    expect(rejected).toEqual(["Connection", "bad name"]);
  });
});

describe("headers to the client", () => {
  it("keeps the upstream's headers minus hop-by-hop ones, and the length only when not streaming", () => {
    const upstream = {
      "content-type": "text/event-stream",
      "content-length": "120",
      "mcp-session-id": "abc",
      connection: "keep-alive, X-Internal",
      "x-internal": "1",
      "transfer-encoding": "chunked",
      "set-cookie": ["a=1", "b=2"],
    };

    const streaming = clientResponseHeaders(upstream, { streaming: true });
    const whole = clientResponseHeaders(upstream, { streaming: false });

    expect(Object.keys(streaming).sort()).toEqual(["content-type", "mcp-session-id", "set-cookie"]);
    expect(streaming["set-cookie"]).toEqual(["a=1", "b=2"]);
    expect(whole["content-length"]).toBe("120");
  });
});
