import { createHash, randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { initializeRequest, startMcpUpstream } from "../../dev/mcp-upstream";
import { defaultStreams } from "../../functions/core/streams";
import { createGateway, type GatewayGrant, type GatewayInstance } from "../../functions/gateway/core";
import {
  installAwsLambdaGlobal,
  invokeStreaming,
  lambdaContext,
  restProxyEvent,
} from "../support/lambda-stream";
import { type RawExchange, startRawUpstream } from "../support/raw-upstream";

// The Lambda entry calls awslambda.streamifyResponse when loaded, as it does in the runtime.
installAwsLambdaGlobal();
const { createStreamingHandler, handler } = await import("../../functions/gateway/lambda");

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sha256 = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");

function lambdaGateway(upstreamUrl: string, overrides: Partial<GatewayInstance> = {}) {
  const credential = `sg_${randomBytes(32).toString("base64url")}`;
  const grant: GatewayGrant = {
    instanceId: "ins_lambda",
    platformId: "plt_dify",
    spaceId: "spc_a",
    tokenHash: sha256(credential),
    enabled: true,
    expiresAt: null,
    headers: { "X-Space": "space-a" },
  };
  const instance: GatewayInstance = {
    id: "ins_lambda",
    enabled: true,
    upstream: { url: upstreamUrl, transport: "streamable-http" },
    headers: {},
    timeouts: { timeout: 30, sseReadTimeout: 300 },
    streams: defaultStreams,
    forwardHeaders: [],
    ...overrides,
  };
  const gateway = createGateway({
    mode: "lambda",
    resolver: {
      grantByTokenHash: async (tokenHash) => (tokenHash === grant.tokenHash ? grant : null),
      instance: async (id) => (id === instance.id ? instance : null),
    },
  });
  return { credential, handle: createStreamingHandler(() => gateway) };
}

async function rawUpstream(respond?: (exchange: RawExchange) => void) {
  const upstream = await startRawUpstream(respond);
  cleanups.push(() => upstream.close());
  return upstream;
}

const mcpHeaders = (credential: string) => ({
  Authorization: `Bearer ${credential}`,
  Accept: "application/json, text/event-stream",
  "Content-Type": "application/json",
});

const toolsList = JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/list" });

describe("gateway Lambda entry", () => {
  it("streams an SSE answer: the prelude first, then each event as the upstream sends it", async () => {
    const upstream = await rawUpstream();
    const { credential, handle } = lambdaGateway(`${upstream.url}/mcp`);
    const context = lambdaContext();

    const { stream, done } = invokeStreaming(
      handle,
      restProxyEvent({
        method: "POST",
        path: "/gateway/ins_lambda/mcp",
        headers: mcpHeaders(credential),
        body: toolsList,
      }),
      context,
    );
    let finished = false;
    void done.then(() => {
      finished = true;
    });
    const exchange = await upstream.nextExchange();
    exchange.res.writeHead(200, { "content-type": "text/event-stream" });
    exchange.res.write('id: 1\ndata: {"jsonrpc":"2.0","method":"notifications/progress"}\n\n');
    await stream.waitFor(({ body }) => body.includes("notifications/progress"));
    const beforeEnd = finished;
    exchange.res.end('id: 2\ndata: {"jsonrpc":"2.0","id":7,"result":{"tools":[]}}\n\n');
    await done;

    const { prelude, body, bodyChunks } = stream.received();
    expect(beforeEnd).toBe(false);
    expect(stream.contentType).toBe("application/vnd.awslambda.http-integration-response");
    expect(prelude).toMatchObject({
      statusCode: 200,
      headers: { "content-type": "text/event-stream", "x-request-id": context.awsRequestId },
    });
    expect(body).toBe(
      'id: 1\ndata: {"jsonrpc":"2.0","method":"notifications/progress"}\n\n' +
        'id: 2\ndata: {"jsonrpc":"2.0","id":7,"result":{"tools":[]}}\n\n',
    );
    expect(bodyChunks.length).toBeGreaterThanOrEqual(2);
    expect(exchange.headers).toMatchObject({
      "x-forwarded-for": "203.0.113.7",
      "x-forwarded-proto": "https",
      "x-space": "space-a",
    });
    expect(exchange.headers.authorization).toBeUndefined();
    expect(exchange.headers.host).toBe(new URL(upstream.url).host);
  });

  it("tells the upstream the caller's address as API Gateway saw it, not what the client claimed", async () => {
    const upstream = await rawUpstream((exchange) =>
      exchange.res
        .writeHead(200, { "content-type": "application/json" })
        .end('{"jsonrpc":"2.0","id":7,"result":{}}'),
    );
    const { credential, handle } = lambdaGateway(`${upstream.url}/mcp`);

    const { done } = invokeStreaming(
      handle,
      restProxyEvent({
        method: "POST",
        path: "/gateway/ins_lambda/mcp",
        headers: {
          ...mcpHeaders(credential),
          "X-Forwarded-For": "10.9.9.9, 203.0.113.7",
          "X-Forwarded-Host": "internal.example",
        },
        body: toolsList,
        sourceIp: "203.0.113.7",
      }),
      lambdaContext(),
    );
    await done;

    expect(upstream.exchanges[0]?.headers["x-forwarded-for"]).toBe("203.0.113.7");
    expect(upstream.exchanges[0]?.headers["x-forwarded-host"]).toBeUndefined();
  });

  it("answers 405 with Allow: POST, DELETE to GET /mcp by default", async () => {
    const upstream = await rawUpstream();
    const { credential, handle } = lambdaGateway(`${upstream.url}/mcp`);

    const { stream, done } = invokeStreaming(
      handle,
      restProxyEvent({ method: "GET", path: "/gateway/ins_lambda/mcp", headers: mcpHeaders(credential) }),
    );
    await done;

    const { prelude, body } = stream.received();
    expect(prelude).toMatchObject({ statusCode: 405, headers: { allow: "POST, DELETE" } });
    expect(JSON.parse(body)).toMatchObject({ jsonrpc: "2.0", id: null, error: { code: -32000 } });
    expect(upstream.exchanges).toHaveLength(0);
  });

  it("sends the status prelude of a bodiless answer and relays a base64 body intact", async () => {
    const upstream = await rawUpstream((exchange) => exchange.res.writeHead(202).end());
    const { credential, handle } = lambdaGateway(`${upstream.url}/mcp`);
    const payload = randomBytes(256 * 1024);

    const { stream, done } = invokeStreaming(
      handle,
      restProxyEvent({
        method: "POST",
        path: "/gateway/ins_lambda/mcp",
        headers: mcpHeaders(credential),
        body: payload,
        query: { sg_token: "ignored-when-the-header-is-valid", trace: ["a", "b"] },
      }),
    );
    await done;

    expect(stream.received().prelude?.statusCode).toBe(202);
    expect(upstream.exchanges[0]?.bodySha256).toBe(sha256(payload));
    expect(upstream.exchanges[0]?.search).toBe("?trace=a&trace=b");
  });

  it("aborts the upstream request when the client's connection is gone", async () => {
    const upstream = await rawUpstream();
    const { credential, handle } = lambdaGateway(`${upstream.url}/mcp`);

    const { stream, done } = invokeStreaming(
      handle,
      restProxyEvent({
        method: "POST",
        path: "/gateway/ins_lambda/mcp",
        headers: mcpHeaders(credential),
        body: toolsList,
      }),
    );
    const exchange = await upstream.nextExchange();
    exchange.res.writeHead(200, { "content-type": "text/event-stream" });
    exchange.res.write("data: started\n\n");
    await stream.waitFor(({ body }) => body.includes("started"));
    stream.disconnect();

    await exchange.aborted;
    await done;
  });

  it("works end to end with a real MCP upstream", async () => {
    const upstream = await startMcpUpstream();
    cleanups.push(() => upstream.close());
    const { credential, handle } = lambdaGateway(upstream.mcpUrl);
    const initialize = initializeRequest();

    const { stream, done } = invokeStreaming(
      handle,
      restProxyEvent({
        method: "POST",
        path: "/gateway/ins_lambda/mcp",
        headers: mcpHeaders(credential),
        body: initialize,
      }),
    );
    await done;

    const { prelude, body } = stream.received();
    expect(prelude?.statusCode).toBe(200);
    expect(prelude?.headers?.["mcp-session-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(body).toContain('"serverInfo":{"name":"test-upstream"');
  });

  it("exports a handler marked for response streaming", () => {
    expect(
      (handler as unknown as Record<symbol, unknown>)[Symbol.for("aws.lambda.runtime.handler.streaming")],
    ).toBe("response");
  });
});
