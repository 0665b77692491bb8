import { createHash, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { brotliCompressSync, gzipSync } from "node:zlib";
import { serve } from "@hono/node-server";
import {
  Client as ClientV2,
  StreamableHTTPClientTransport as StreamableHTTPClientTransportV2,
} from "@modelcontextprotocol/client";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { startMcpUpstream } from "../../dev/mcp-upstream";
import { defaultStreams } from "../../functions/core/streams";
import {
  type CallRecord,
  createGateway,
  type Gateway,
  type GatewayGrant,
  type GatewayInstance,
} from "../../functions/gateway/core";
import { fetchGateway } from "../../functions/gateway/fetch";
import { nodeGateway } from "../../functions/gateway/node";
import { requestUpstream, type UpstreamClient } from "../../functions/gateway/upstream";
import { createPooledUpstream } from "../../functions/gateway/upstream-pooled";
import { startMcpUpstreamV2 } from "../support/mcp-upstream-v2";
import { type RawExchange, startRawUpstream } from "../support/raw-upstream";
import { listenOnLoopback, MemoryResolver, manualTimers } from "./fixtures";

const pooledUpstream = createPooledUpstream();
afterAll(() => pooledUpstream.close());

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sha256 = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");
const newCredential = () => `sg_${randomBytes(32).toString("base64url")}`;

/** Serves the gateway as the local product does: straight from a node:http listener. */
async function serveNode(gateway: Gateway) {
  return listenOnLoopback(createServer(nodeGateway(gateway)), cleanups);
}

/** Serves the gateway as a web-standard fetch handler, on @hono/node-server. */
async function serveFetch(gateway: Gateway) {
  const handler = fetchGateway(gateway);
  let server: ReturnType<typeof serve> | undefined;
  const port = await new Promise<number>((resolve) => {
    server = serve(
      { fetch: (request: Request) => handler(request), port: 0, hostname: "127.0.0.1" },
      (info) => resolve(info.port),
    );
  });
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server?.close(() => resolve());
        (server as import("node:http").Server | undefined)?.closeAllConnections();
      }),
  );
  return `http://127.0.0.1:${port}`;
}

async function startGateway(
  options: {
    mode?: "local" | "lambda";
    cacheTtlMs?: number;
    logCompleted?: boolean;
    host?: "node" | "fetch";
    /** Connections per instance of the local product's pools. */
    connections?: number;
    maxBodyBytes?: number;
  } = {},
) {
  const resolver = new MemoryResolver();
  let client: UpstreamClient = requestUpstream;
  if (options.host !== "fetch") {
    // The node:http host runs as the local product does, on undici's pools; the fetch host on node:http.
    client = pooledUpstream;
    if (options.connections !== undefined) {
      const own = createPooledUpstream({ connections: options.connections });
      cleanups.push(() => own.close());
      client = own;
    }
  }
  let upstreamCalls = 0;
  const upstreamWatchers: Array<() => void> = [];
  /** Resolves once the gateway has handed this many requests to its upstream client. */
  const upstreamCalled = (count: number) =>
    new Promise<void>((resolve) => {
      const check = () => (upstreamCalls >= count ? resolve() : upstreamWatchers.push(check));
      check();
    });
  const timers = manualTimers();
  const clock = { now: Date.parse("2026-01-15T10:00:00Z") };
  const logs: Array<Record<string, unknown>> = [];
  const usage: Array<{ spaceId: string; error: boolean; refused?: boolean }> = [];
  const records: CallRecord[] = [];
  const usageWatchers: Array<() => void> = [];
  const usageRecorded = (count: number) =>
    new Promise<void>((resolve) => {
      const check = () => (usage.length >= count ? resolve() : usageWatchers.push(check));
      check();
    });
  const gateway = createGateway({
    resolver,
    upstream: (url, init) => {
      upstreamCalls += 1;
      for (const watcher of upstreamWatchers.splice(0)) watcher();
      return client(url, init);
    },
    maxBodyBytes: options.maxBodyBytes,
    mode: options.mode ?? "local",
    logCompleted: options.logCompleted ?? true,
    now: () => clock.now,
    cacheTtlMs: options.cacheTtlMs ?? 5_000,
    keepaliveMs: 25_000,
    timers,
    usage: {
      record: (grant, outcome) => {
        records.push(outcome);
        usage.push({
          spaceId: grant.spaceId,
          error: outcome.error,
          ...(outcome.refused ? { refused: true } : {}),
        });
        for (const watcher of usageWatchers.splice(0)) watcher();
      },
    },
    log: (entry) => logs.push(entry),
  });
  const url = await (options.host === "fetch" ? serveFetch(gateway) : serveNode(gateway));

  const addInstance = (
    id: string,
    upstream: GatewayInstance["upstream"],
    overrides: Partial<GatewayInstance> = {},
  ) => {
    const instance: GatewayInstance = {
      id,
      enabled: true,
      upstream,
      headers: {},
      timeouts: { timeout: 30, sseReadTimeout: 300 },
      streams: defaultStreams,
      forwardHeaders: [],
      ...overrides,
    };
    resolver.instances.set(id, instance);
    return instance;
  };
  const addGrant = (instanceId: string, spaceId: string, overrides: Partial<GatewayGrant> = {}) => {
    const credential = newCredential();
    const grant: GatewayGrant = {
      instanceId,
      platformId: "plt_dify",
      spaceId,
      tokenHash: sha256(credential),
      enabled: true,
      expiresAt: null,
      headers: {},
      ...overrides,
    };
    resolver.grants.set(grant.tokenHash, grant);
    return { credential, grant };
  };
  const endpoint = (instanceId: string, leaf: "mcp" | "sse" | "messages") =>
    `${url}/gateway/${instanceId}/${leaf}`;
  return {
    url,
    gateway,
    resolver,
    timers,
    clock,
    logs,
    usage,
    records,
    usageRecorded,
    upstreamCalled,
    addInstance,
    addGrant,
    endpoint,
  };
}

async function mcpUpstream(options: Parameters<typeof startMcpUpstream>[0] = {}) {
  const upstream = await startMcpUpstream(options);
  cleanups.push(() => upstream.close());
  return upstream;
}

async function rawUpstream(respond?: (exchange: RawExchange) => void) {
  const upstream = await startRawUpstream(respond);
  cleanups.push(() => upstream.close());
  return upstream;
}

async function connect(transport: StreamableHTTPClientTransport | SSEClientTransport) {
  const client = new Client({ name: "Dify", version: "1.0.0" });
  await client.connect(transport);
  cleanups.push(() => client.close());
  return client;
}

const bearer = (credential: string) => ({ headers: { Authorization: `Bearer ${credential}` } });

const initializeBody = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "Dify", version: "1.0.0" } },
});

const mcpHeaders = (credential: string, extra: Record<string, string> = {}) => ({
  authorization: `Bearer ${credential}`,
  accept: "application/json, text/event-stream",
  "content-type": "application/json",
  ...extra,
});

/** Reads a response body as text until the predicate holds; returns everything read so far. */
function textReader(response: Response) {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  return {
    get text() {
      return text;
    },
    async until(predicate: (text: string) => boolean) {
      while (!predicate(text)) {
        const { done, value } = await reader.read();
        if (done) throw new Error(`stream ended before the expected text; got: ${JSON.stringify(text)}`);
        text += decoder.decode(value, { stream: true });
      }
      return text;
    },
    async end() {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return text;
        text += decoder.decode(value, { stream: true });
      }
    },
    cancel: () => reader.cancel(),
  };
}

type JsonRpcError = { code: number; message: string; data?: { code: string; requestId: string } };
const errorOf = async (response: Response) => ((await response.json()) as { error: JsonRpcError }).error;
const codeOf = async (response: Response) => (await errorOf(response)).data?.code;

const sseHead = { "content-type": "text/event-stream", "cache-control": "no-cache" };

describe("MCP clients through the gateway", () => {
  it("serves initialize, tools/list and tools/call over streamable HTTP, and ends the session with DELETE", async () => {
    const upstream = await mcpUpstream();
    const gateway = await startGateway();
    gateway.addInstance("ins_mcp", { url: upstream.mcpUrl, transport: "streamable-http" });
    const { credential } = gateway.addGrant("ins_mcp", "spc_a");

    const transport = new StreamableHTTPClientTransport(new URL(gateway.endpoint("ins_mcp", "mcp")), {
      requestInit: bearer(credential),
    });
    const client = await connect(transport);
    const { tools } = await client.listTools();
    const echoed = await client.callTool({ name: "echo", arguments: { text: "hello through the gateway" } });
    const added = await client.callTool({ name: "add", arguments: { a: 2, b: 40 } });
    await transport.terminateSession();

    expect(client.getServerVersion()?.name).toBe("test-upstream");
    expect(tools.map((tool) => tool.name)).toEqual(["echo", "add", "slow", "headers"]);
    expect(echoed.content).toEqual([{ type: "text", text: "hello through the gateway" }]);
    expect(added.structuredContent).toEqual({ sum: 42 });
    await upstream.sessionsClosed();
    expect(upstream.requests.some((request) => request.method === "DELETE")).toBe(true);
  });

  it("records each call's outcome, status, duration and tool, and logs it under its trace and request ids", async () => {
    const upstream = await mcpUpstream();
    const gateway = await startGateway();
    gateway.addInstance("ins_mcp", { url: upstream.mcpUrl, transport: "streamable-http" });
    const { credential } = gateway.addGrant("ins_mcp", "spc_a");
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const traceparent = `00-${traceId}-00f067aa0ba902b7-01`;
    const post = (body: unknown, extra: Record<string, string> = {}) =>
      fetch(gateway.endpoint("ins_mcp", "mcp"), {
        method: "POST",
        headers: mcpHeaders(credential, { traceparent, tracestate: "dify=call-1", ...extra }),
        body: typeof body === "string" ? body : JSON.stringify(body),
      });

    const initialized = await post(initializeBody);
    await initialized.text();
    const session = { "mcp-session-id": initialized.headers.get("mcp-session-id") ?? "" };
    const called = await post(
      {
        jsonrpc: "2.0",
        id: 2,
        method: "tools/call",
        params: { name: "echo", arguments: { text: "secret-arg" } },
      },
      session,
    );
    await called.text();
    const named = await post(
      { jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "add", arguments: { a: 1, b: 2 } } },
      { ...session, "mcp-method": "tools/call", "mcp-name": "add" },
    );
    await named.text();
    await gateway.usageRecorded(3);

    expect(gateway.records).toEqual([
      { error: false, outcome: "ok", status: 200, stream: false, durationMs: expect.any(Number) },
      {
        error: false,
        outcome: "ok",
        status: 200,
        stream: false,
        durationMs: expect.any(Number),
        tool: "echo",
      },
      {
        error: false,
        outcome: "ok",
        status: 200,
        stream: false,
        durationMs: expect.any(Number),
        tool: "add",
      },
    ]);
    expect(JSON.stringify(gateway.records)).not.toContain("secret-arg");
    const toUpstream = upstream.requests.filter((request) => request.method === "POST");
    expect(toUpstream.map((request) => request.headers.traceparent)).toEqual([
      traceparent,
      traceparent,
      traceparent,
    ]);
    expect(toUpstream.every((request) => request.headers.tracestate === "dify=call-1")).toBe(true);
    const lines = gateway.logs.filter((entry) => entry.msg === "gateway request");
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      expect(line).toMatchObject({ traceId, requestId: expect.any(String) });
    }
  });

  it("serves initialize, tools/list and tools/call over SSE through the rewritten message endpoint", async () => {
    const upstream = await mcpUpstream();
    const gateway = await startGateway();
    gateway.addInstance("ins_sse", { url: upstream.sseUrl, transport: "sse" });
    const { credential } = gateway.addGrant("ins_sse", "spc_a");

    const client = await connect(
      new SSEClientTransport(new URL(gateway.endpoint("ins_sse", "sse")), {
        requestInit: bearer(credential),
      }),
    );
    const { tools } = await client.listTools();
    const echoed = await client.callTool({ name: "echo", arguments: { text: "over sse" } });

    expect(tools.map((tool) => tool.name)).toContain("echo");
    expect(echoed.content).toEqual([{ type: "text", text: "over sse" }]);
    const posts = upstream.requests.filter((request) => request.method === "POST");
    expect(posts.length).toBeGreaterThanOrEqual(3);
    expect(
      posts.every((request) => request.path === "/messages" && request.search.startsWith("?sessionId=")),
    ).toBe(true);
  });

  it("announces its own message endpoint on SSE, never the upstream's address", async () => {
    const upstream = await mcpUpstream();
    const gateway = await startGateway();
    gateway.addInstance("ins_sse", { url: upstream.sseUrl, transport: "sse" });
    const { credential } = gateway.addGrant("ins_sse", "spc_a");

    const response = await fetch(gateway.endpoint("ins_sse", "sse"), {
      headers: { authorization: `Bearer ${credential}`, accept: "text/event-stream" },
    });
    const body = textReader(response);
    const text = await body.until((received) => received.includes("\n\n"));
    await body.cancel();

    const data = /event: endpoint\ndata: (.*)\n\n/.exec(text)?.[1];
    expect(data).toMatch(/^messages\?sessionId=[0-9a-f-]+$/);
    expect(new URL(data!, gateway.endpoint("ins_sse", "sse")).pathname).toBe("/gateway/ins_sse/messages");
    expect(text).not.toContain(new URL(upstream.url).host);
  });

  it("routes an SSE message posted to another gateway process (another Lambda) to the upstream session", async () => {
    const upstream = await mcpUpstream();
    const holder = await startGateway();
    const other = await startGateway();
    const credential = newCredential();
    for (const gateway of [holder, other]) {
      gateway.addInstance("ins_sse", { url: upstream.sseUrl, transport: "sse" });
      gateway.resolver.grants.set(sha256(credential), {
        instanceId: "ins_sse",
        platformId: "plt_dify",
        spaceId: "spc_a",
        tokenHash: sha256(credential),
        enabled: true,
        expiresAt: null,
        headers: {},
      });
    }
    const postsToOther = (input: string | URL, init?: RequestInit) =>
      init?.method === "POST"
        ? fetch(String(input).replace(holder.url, other.url), init)
        : fetch(input, init);

    const client = await connect(
      new SSEClientTransport(new URL(holder.endpoint("ins_sse", "sse")), {
        requestInit: bearer(credential),
        fetch: postsToOther,
      }),
    );
    const echoed = await client.callTool({ name: "echo", arguments: { text: "from elsewhere" } });

    expect(echoed.content).toEqual([{ type: "text", text: "from elsewhere" }]);
    expect(other.logs.filter((entry) => entry.route === "messages").length).toBeGreaterThanOrEqual(2);
  });

  it("rewrites an absolute, CRLF-framed endpoint announcement and posts to the path the upstream announced", async () => {
    const upstream = await rawUpstream();
    const gateway = await startGateway();
    gateway.addInstance("ins_sse", { url: `${upstream.url}/events`, transport: "sse" });
    const { credential } = gateway.addGrant("ins_sse", "spc_a");

    const streaming = fetch(gateway.endpoint("ins_sse", "sse"), {
      headers: { authorization: `Bearer ${credential}`, accept: "text/event-stream" },
    });
    const sse = await upstream.nextExchange();
    sse.res.writeHead(200, sseHead);
    sse.res.write(": hello\r\n\r\nevent: endpoint\r\ndata: ");
    sse.res.write(`${upstream.url}/rpc/messages/?session_id=s1&v=2\r\n\r`);
    sse.res.write('\nevent: message\r\ndata: {"jsonrpc":"2.0","method":"ping"}\r\n\r\n');
    const body = textReader(await streaming);
    const text = await body.until((received) => received.includes("ping"));
    const posting = fetch(`${gateway.endpoint("ins_sse", "messages")}?session_id=s1&v=2`, {
      method: "POST",
      headers: { authorization: `Bearer ${credential}`, "content-type": "application/json" },
      body: '{"jsonrpc":"2.0","id":1,"method":"ping"}',
    });
    const post = await upstream.nextExchange();
    post.res.writeHead(202).end("Accepted");
    const posted = await posting;
    await body.cancel();

    expect(text).toBe(
      ': hello\r\n\r\nevent: endpoint\ndata: messages?session_id=s1&v=2\n\nevent: message\r\ndata: {"jsonrpc":"2.0","method":"ping"}\r\n\r\n',
    );
    expect(posted.status).toBe(202);
    expect(`${post.method} ${post.path}${post.search}`).toBe("POST /rpc/messages/?session_id=s1&v=2");
    expect(text).not.toContain(new URL(upstream.url).host);
  });

  it.each(["streamable-http", "sse"] as const)(
    "delivers the progress notifications of a long-running tool one by one before its result (%s)",
    async (transportKind) => {
      const upstream = await mcpUpstream();
      const gateway = await startGateway();
      const sse = transportKind === "sse";
      gateway.addInstance("ins_slow", {
        url: sse ? upstream.sseUrl : upstream.mcpUrl,
        transport: transportKind,
      });
      const { credential } = gateway.addGrant("ins_slow", "spc_a");
      const url = new URL(gateway.endpoint("ins_slow", sse ? "sse" : "mcp"));
      const client = await connect(
        sse
          ? new SSEClientTransport(url, { requestInit: bearer(credential) })
          : new StreamableHTTPClientTransport(url, { requestInit: bearer(credential) }),
      );

      const progress: number[] = [];
      const watchers: Array<() => void> = [];
      const progressReached = (count: number) =>
        new Promise<void>((resolve) => {
          const check = () => (progress.length >= count ? resolve() : watchers.push(check));
          check();
        });
      let settled = false;
      const call = client
        .callTool({ name: "slow", arguments: { steps: 3, holdResult: true } }, undefined, {
          onprogress: (notification) => {
            progress.push(notification.progress);
            for (const watcher of watchers.splice(0)) watcher();
          },
        })
        .finally(() => {
          settled = true;
        });

      for (let step = 1; step <= 3; step++) {
        await upstream.slowWaiting();
        upstream.release();
        await progressReached(step);
        expect(progress).toEqual([1, 2, 3].slice(0, step));
        expect(settled).toBe(false);
      }
      await upstream.slowWaiting();
      upstream.release();
      const result = await call;

      expect(result.content).toEqual([{ type: "text", text: "done after 3 steps" }]);
    },
  );

  it("resumes a cut streamable HTTP response with Last-Event-ID through the gateway", async () => {
    const upstream = await mcpUpstream();
    const gateway = await startGateway();
    gateway.addInstance("ins_mcp", { url: upstream.mcpUrl, transport: "streamable-http" });
    const { credential } = gateway.addGrant("ins_mcp", "spc_a");
    const client = await connect(
      new StreamableHTTPClientTransport(new URL(gateway.endpoint("ins_mcp", "mcp")), {
        requestInit: bearer(credential),
      }),
    );

    const progress: number[] = [];
    const call = client.callTool(
      { name: "slow", arguments: { steps: 2, closeStreamAfterStep: 1 } },
      undefined,
      {
        onprogress: (notification) => progress.push(notification.progress),
      },
    );
    upstream.release(2);
    const result = await call;

    expect(result.content).toEqual([{ type: "text", text: "done after 2 steps" }]);
    expect(progress).toContain(2);
    const resumed = upstream.requests.filter(
      (request) => request.method === "GET" && request.headers["last-event-id"],
    );
    expect(resumed.length).toBeGreaterThanOrEqual(1);
  });

  it("passes the upstream's 404 for an unknown Mcp-Session-Id through unchanged", async () => {
    const upstream = await mcpUpstream();
    const gateway = await startGateway();
    gateway.addInstance("ins_mcp", { url: upstream.mcpUrl, transport: "streamable-http" });
    const { credential } = gateway.addGrant("ins_mcp", "spc_a");

    const response = await fetch(gateway.endpoint("ins_mcp", "mcp"), {
      method: "POST",
      headers: mcpHeaders(credential, { "mcp-session-id": "0b7e-stale-session" }),
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }),
    });

    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      jsonrpc: "2.0",
      error: { code: -32001, message: "Session not found" },
      id: null,
    });
    expect(upstream.requests.at(-1)?.headers["mcp-session-id"]).toBe("0b7e-stale-session");
  });
});

describe("the gateway as a web-standard fetch handler", () => {
  it("serves the MCP SDK client over streamable HTTP with the space's headers", async () => {
    const upstream = await mcpUpstream();
    const gateway = await startGateway({ host: "fetch" });
    gateway.addInstance("ins_mcp", { url: upstream.mcpUrl, transport: "streamable-http" });
    const { credential } = gateway.addGrant("ins_mcp", "spc_a", { headers: { "X-Space": "space-a" } });

    const transport = new StreamableHTTPClientTransport(new URL(gateway.endpoint("ins_mcp", "mcp")), {
      requestInit: bearer(credential),
    });
    const client = await connect(transport);
    const echoed = await client.callTool({ name: "echo", arguments: { text: "hello through fetch" } });

    expect(echoed.content).toEqual([{ type: "text", text: "hello through fetch" }]);
    const posts = upstream.requests.filter((request) => request.method === "POST");
    expect(posts.length).toBeGreaterThan(0);
    expect(posts.every((request) => request.headers["x-space"] === "space-a")).toBe(true);
    expect(posts.some((request) => request.headers.authorization !== undefined)).toBe(false);
  });
});

describe("credentials", () => {
  it("answers 401 to a missing, garbled or unknown credential without reaching the upstream", async () => {
    const upstream = await mcpUpstream();
    const gateway = await startGateway();
    gateway.addInstance("ins_mcp", { url: upstream.mcpUrl, transport: "streamable-http" });
    const post = (headers: Record<string, string>) =>
      fetch(gateway.endpoint("ins_mcp", "mcp"), {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          ...headers,
        },
        body: initializeBody,
      });

    const missing = await post({});
    const garbled = await post({ authorization: "Bearer not a token at all" });
    const basic = await post({ authorization: "Basic dXNlcjpwYXNz" });
    const unknown = await post({ authorization: `Bearer ${newCredential()}` });

    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toBe('Bearer realm="spacegate"');
    for (const refused of [garbled, basic, unknown]) {
      expect(refused.status).toBe(401);
      expect(refused.headers.get("www-authenticate")).toBe('Bearer realm="spacegate", error="invalid_token"');
    }
    expect(await unknown.json()).toMatchObject({
      jsonrpc: "2.0",
      id: null,
      error: { code: -32000, data: { code: "credential_invalid" } },
    });
    expect(upstream.requests).toHaveLength(0);
  });

  it("answers 403 to another instance's credential, a disabled grant or a disabled instance, and 404 to a deleted instance", async () => {
    const upstream = await mcpUpstream();
    const gateway = await startGateway();
    gateway.addInstance("ins_one", { url: upstream.mcpUrl, transport: "streamable-http" });
    gateway.addInstance("ins_two", { url: upstream.mcpUrl, transport: "streamable-http" });
    gateway.addInstance(
      "ins_off",
      { url: upstream.mcpUrl, transport: "streamable-http" },
      { enabled: false },
    );
    const other = gateway.addGrant("ins_two", "spc_a");
    const disabled = gateway.addGrant("ins_one", "spc_b", { enabled: false });
    const offInstance = gateway.addGrant("ins_off", "spc_a");
    const deleted = gateway.addGrant("ins_gone", "spc_a");
    const post = (instanceId: string, credential: string) =>
      fetch(gateway.endpoint(instanceId, "mcp"), {
        method: "POST",
        headers: mcpHeaders(credential),
        body: initializeBody,
      });

    const answers = [
      await post("ins_one", other.credential),
      await post("ins_one", disabled.credential),
      await post("ins_off", offInstance.credential),
      await post("ins_gone", deleted.credential),
    ];

    expect(answers.map((answer) => answer.status)).toEqual([403, 403, 403, 404]);
    const codes = await Promise.all(answers.map(codeOf));
    expect(codes).toEqual([
      "credential_wrong_instance",
      "access_disabled",
      "instance_disabled",
      "instance_not_found",
    ]);
    expect(upstream.requests).toHaveLength(0);
  });

  it("accepts the credential as X-API-Key or as the sg_token query parameter, which it does not forward", async () => {
    const upstream = await mcpUpstream();
    const gateway = await startGateway();
    gateway.addInstance("ins_mcp", { url: upstream.mcpUrl, transport: "streamable-http" });
    const { credential } = gateway.addGrant("ins_mcp", "spc_a");
    const headers = { accept: "application/json, text/event-stream", "content-type": "application/json" };

    const viaApiKey = await fetch(gateway.endpoint("ins_mcp", "mcp"), {
      method: "POST",
      headers: { ...headers, "x-api-key": credential },
      body: initializeBody,
    });
    const viaQuery = await fetch(`${gateway.endpoint("ins_mcp", "mcp")}?sg_token=${credential}&tenant=t1`, {
      method: "POST",
      headers,
      body: initializeBody,
    });

    expect(viaApiKey.status).toBe(200);
    expect(viaQuery.status).toBe(200);
    expect(upstream.requests.map((request) => request.search)).toEqual(["", "?tenant=t1"]);
    expect(JSON.stringify(upstream.requests)).not.toContain(credential);
  });

  it("lets an old client that only has the URL use SSE with sg_token, message posts included", async () => {
    const upstream = await mcpUpstream();
    const gateway = await startGateway();
    gateway.addInstance("ins_sse", { url: upstream.sseUrl, transport: "sse" });
    const { credential } = gateway.addGrant("ins_sse", "spc_a");

    const client = await connect(
      new SSEClientTransport(new URL(`${gateway.endpoint("ins_sse", "sse")}?sg_token=${credential}`)),
    );
    const echoed = await client.callTool({ name: "echo", arguments: { text: "query credential" } });

    expect(echoed.content).toEqual([{ type: "text", text: "query credential" }]);
    expect(JSON.stringify(upstream.requests)).not.toContain(credential);
  });

  it("answers 503 when the credential lookup fails, and retries the lookup on the next request", async () => {
    const upstream = await mcpUpstream();
    const gateway = await startGateway();
    gateway.addInstance("ins_mcp", { url: upstream.mcpUrl, transport: "streamable-http" });
    const { credential } = gateway.addGrant("ins_mcp", "spc_a");
    const lookup = gateway.resolver.grantByTokenHash.bind(gateway.resolver);
    gateway.resolver.grantByTokenHash = async () => {
      throw new Error("table unavailable");
    };
    const post = () =>
      fetch(gateway.endpoint("ins_mcp", "mcp"), {
        method: "POST",
        headers: mcpHeaders(credential),
        body: initializeBody,
      });

    const failed = await post();
    gateway.resolver.grantByTokenHash = lookup;
    const recovered = await post();

    expect(failed.status).toBe(503);
    expect(await codeOf(failed)).toBe("gateway_unavailable");
    expect(gateway.logs[0]).toMatchObject({ status: 503, cause: "Error: table unavailable" });
    expect(recovered.status).toBe(200);
  });

  it("stops a disabled grant within the cache bound, measured on the gateway's clock", async () => {
    const upstream = await mcpUpstream();
    const gateway = await startGateway({ cacheTtlMs: 5_000 });
    gateway.addInstance("ins_mcp", { url: upstream.mcpUrl, transport: "streamable-http" });
    const { credential, grant } = gateway.addGrant("ins_mcp", "spc_a");
    const post = () =>
      fetch(gateway.endpoint("ins_mcp", "mcp"), {
        method: "POST",
        headers: mcpHeaders(credential),
        body: initializeBody,
      });

    const before = await post();
    gateway.resolver.grants.set(grant.tokenHash, { ...grant, enabled: false });
    gateway.clock.now += 4_999;
    const withinBound = await post();
    gateway.clock.now += 1;
    const atBound = await post();

    expect(before.status).toBe(200);
    expect(withinBound.status).toBe(200);
    expect(atBound.status).toBe(403);
  });

  it("stops a rotated credential within the cache bound and accepts its successor at once", async () => {
    const upstream = await mcpUpstream();
    const gateway = await startGateway({ cacheTtlMs: 5_000 });
    gateway.addInstance("ins_mcp", { url: upstream.mcpUrl, transport: "streamable-http" });
    const old = gateway.addGrant("ins_mcp", "spc_a");
    const post = (credential: string) =>
      fetch(gateway.endpoint("ins_mcp", "mcp"), {
        method: "POST",
        headers: mcpHeaders(credential),
        body: initializeBody,
      });

    expect((await post(old.credential)).status).toBe(200);
    gateway.resolver.grants.delete(old.grant.tokenHash);
    const successor = gateway.addGrant("ins_mcp", "spc_a");
    const successorAtOnce = await post(successor.credential);
    gateway.clock.now += 5_000;
    const oldAfterBound = await post(old.credential);

    expect(successorAtOnce.status).toBe(200);
    expect(oldAfterBound.status).toBe(401);
    expect(oldAfterBound.headers.get("www-authenticate")).toContain('error="invalid_token"');
  });

  it("refuses a credential once it expires, even while the grant is cached", async () => {
    const upstream = await mcpUpstream();
    const gateway = await startGateway();
    gateway.addInstance("ins_mcp", { url: upstream.mcpUrl, transport: "streamable-http" });
    const expiresAt = new Date(gateway.clock.now + 1_000).toISOString();
    const { credential } = gateway.addGrant("ins_mcp", "spc_a", { expiresAt });
    const post = () =>
      fetch(gateway.endpoint("ins_mcp", "mcp"), {
        method: "POST",
        headers: mcpHeaders(credential),
        body: initializeBody,
      });

    const beforeExpiry = await post();
    gateway.clock.now += 1_000;
    const atExpiry = await post();

    expect(beforeExpiry.status).toBe(200);
    expect(atExpiry.status).toBe(401);
    expect(await codeOf(atExpiry)).toBe("credential_expired");
  });
});

describe("headers to the upstream", () => {
  it("gives each space its own pass-through headers and never forwards the client's credential", async () => {
    const upstream = await mcpUpstream({
      requireHeader: { name: "X-Upstream-Key", value: "upstream-secret" },
    });
    const gateway = await startGateway();
    gateway.addInstance(
      "ins_mcp",
      { url: upstream.mcpUrl, transport: "streamable-http" },
      { headers: { "X-Upstream-Key": "upstream-secret", "X-Tenant": "instance-default", "X-Region": "eu" } },
    );
    const spaceA = gateway.addGrant("ins_mcp", "spc_a", { headers: { "x-tenant": "space-a-tenant" } });
    const spaceB = gateway.addGrant("ins_mcp", "spc_b", { headers: { "X-TENANT": "space-b-tenant" } });

    const headersSeenBy = async (credential: string) => {
      const client = await connect(
        new StreamableHTTPClientTransport(new URL(gateway.endpoint("ins_mcp", "mcp")), {
          requestInit: { headers: { Authorization: `Bearer ${credential}`, Cookie: "session=browser" } },
        }),
      );
      const result = await client.callTool({ name: "headers", arguments: {} });
      const [content] = result.content as Array<{ text: string }>;
      return JSON.parse(content!.text) as Record<string, string>;
    };
    const seenByA = await headersSeenBy(spaceA.credential);
    const seenByB = await headersSeenBy(spaceB.credential);

    expect(seenByA["x-tenant"]).toBe("space-a-tenant");
    expect(seenByB["x-tenant"]).toBe("space-b-tenant");
    for (const seen of [seenByA, seenByB]) {
      expect(seen["x-upstream-key"]).toBe("upstream-secret");
      expect(seen["x-region"]).toBe("eu");
      expect(seen.authorization).toBeUndefined();
      expect(seen.cookie).toBeUndefined();
      expect(seen["x-forwarded-for"]).toBe("127.0.0.1");
      expect(seen["x-forwarded-proto"]).toBe("http");
    }
    const everything = JSON.stringify(upstream.requests);
    expect(everything).not.toContain(spaceA.credential);
    expect(everything).not.toContain(spaceB.credential);
    const logged = JSON.stringify(gateway.logs);
    for (const secret of [
      spaceA.credential,
      spaceB.credential,
      "upstream-secret",
      "space-a-tenant",
      "session=browser",
    ]) {
      expect(logged).not.toContain(secret);
    }
  });
});

describe("streaming", () => {
  it.each([
    ["with a Content-Length", false],
    ["streamed without one", true],
  ])("delivers a 5 MB body intact (%s)", async (_label, streamed) => {
    const upstream = await rawUpstream((exchange) =>
      exchange.res
        .writeHead(200, { "content-type": "application/json" })
        .end('{"jsonrpc":"2.0","id":1,"result":{}}'),
    );
    const gateway = await startGateway();
    gateway.addInstance("ins_raw", { url: `${upstream.url}/mcp`, transport: "streamable-http" });
    const { credential } = gateway.addGrant("ins_raw", "spc_a");
    const payload = randomBytes(5 * 1024 * 1024);

    const response = await fetch(gateway.endpoint("ins_raw", "mcp"), {
      method: "POST",
      headers: mcpHeaders(credential),
      body: streamed ? chunked(payload) : payload,
      duplex: "half",
    } as RequestInit);

    expect(response.status).toBe(200);
    expect(upstream.exchanges[0]?.bodyBytes).toBe(payload.length);
    expect(upstream.exchanges[0]?.bodySha256).toBe(sha256(payload));
  });

  it("refuses a 10 MB body with 413, declared or streamed, and keeps serving", async () => {
    const upstream = await rawUpstream((exchange) =>
      exchange.res
        .writeHead(200, { "content-type": "application/json" })
        .end('{"jsonrpc":"2.0","id":1,"result":{}}'),
    );
    const gateway = await startGateway();
    gateway.addInstance("ins_raw", { url: `${upstream.url}/mcp`, transport: "streamable-http" });
    const { credential } = gateway.addGrant("ins_raw", "spc_a");
    const payload = randomBytes(10 * 1024 * 1024);
    const post = (body: Uint8Array | ReadableStream<Uint8Array> | string) =>
      fetch(gateway.endpoint("ins_raw", "mcp"), {
        method: "POST",
        headers: mcpHeaders(credential),
        body,
        duplex: "half",
      } as RequestInit);

    const declared = await post(payload);
    const streamed = await post(chunked(payload));
    const afterwards = await post(initializeBody);

    expect(declared.status).toBe(413);
    expect(await codeOf(declared)).toBe("body_too_large");
    expect(streamed.status).toBe(413);
    expect(afterwards.status).toBe(200);
    expect(upstream.exchanges.filter((exchange) => exchange.bodyBytes > 0).map((e) => e.bodyBytes)).toEqual([
      Buffer.byteLength(initializeBody),
    ]);
  });

  it("passes invalid JSON to the upstream, which answers with its own error", async () => {
    const upstream = await mcpUpstream();
    const gateway = await startGateway();
    gateway.addInstance("ins_mcp", { url: upstream.mcpUrl, transport: "streamable-http" });
    const { credential } = gateway.addGrant("ins_mcp", "spc_a");

    const response = await fetch(gateway.endpoint("ins_mcp", "mcp"), {
      method: "POST",
      headers: mcpHeaders(credential),
      body: '{"jsonrpc": "2.0", "id": 1, "method": ',
    });

    expect(response.status).toBe(400);
    expect((await errorOf(response)).code).toBe(-32700);
    expect(upstream.requests).toHaveLength(1);
  });

  it("answers 405 to an unknown method and 404 to an unknown path, and keeps serving", async () => {
    const upstream = await mcpUpstream();
    const gateway = await startGateway();
    gateway.addInstance("ins_mcp", { url: upstream.mcpUrl, transport: "streamable-http" });
    const { credential } = gateway.addGrant("ins_mcp", "spc_a");

    const put = await fetch(gateway.endpoint("ins_mcp", "mcp"), {
      method: "PUT",
      headers: mcpHeaders(credential),
    });
    const unknownPath = await fetch(`${gateway.url}/gateway/ins_mcp/admin`, {
      headers: mcpHeaders(credential),
    });
    const afterwards = await fetch(gateway.endpoint("ins_mcp", "mcp"), {
      method: "POST",
      headers: mcpHeaders(credential),
      body: initializeBody,
    });

    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("POST, GET, DELETE");
    expect(unknownPath.status).toBe(404);
    expect(await unknownPath.json()).toMatchObject({ jsonrpc: "2.0", id: null, error: { code: -32000 } });
    expect(afterwards.status).toBe(200);
    expect(upstream.requests).toHaveLength(1);
  });

  it("sends keepalive comments on an idle event stream, only between events", async () => {
    const upstream = await rawUpstream();
    const gateway = await startGateway();
    gateway.addInstance("ins_raw", { url: `${upstream.url}/mcp`, transport: "streamable-http" });
    const { credential } = gateway.addGrant("ins_raw", "spc_a");

    const responding = fetch(gateway.endpoint("ins_raw", "mcp"), {
      method: "POST",
      headers: mcpHeaders(credential),
      body: initializeBody,
    });
    const exchange = await upstream.nextExchange();
    exchange.res.writeHead(200, sseHead);
    exchange.res.write("event: message\ndata: one\n\n");
    const response = await responding;
    const body = textReader(response);
    await body.until((text) => text.endsWith("data: one\n\n"));

    gateway.timers.advance(25_000);
    await body.until((text) => text.endsWith(": keepalive\n\n"));
    exchange.res.write("data: par");
    await body.until((text) => text.endsWith("data: par"));
    gateway.timers.advance(25_000);
    exchange.res.write("tial\n\n");
    await body.until((text) => text.endsWith("tial\n\n"));
    gateway.timers.advance(25_000);
    await body.until((text) => text.endsWith("tial\n\n: keepalive\n\n"));
    exchange.res.end();
    const text = await body.end();

    expect(response.headers.get("content-type")).toBe("text/event-stream");
    expect(text).toBe("event: message\ndata: one\n\n: keepalive\n\ndata: partial\n\n: keepalive\n\n");
  });

  it("ends an event stream idle beyond sseReadTimeout and closes the upstream connection", async () => {
    const upstream = await rawUpstream();
    const gateway = await startGateway();
    gateway.addInstance(
      "ins_raw",
      { url: `${upstream.url}/mcp`, transport: "streamable-http" },
      { timeouts: { timeout: 30, sseReadTimeout: 60 } },
    );
    const { credential } = gateway.addGrant("ins_raw", "spc_a");

    const responding = fetch(gateway.endpoint("ins_raw", "mcp"), { headers: mcpHeaders(credential) });
    const exchange = await upstream.nextExchange();
    exchange.res.writeHead(200, sseHead);
    exchange.res.write("data: first\n\n");
    const body = textReader(await responding);
    await body.until((text) => text.includes("first"));
    gateway.timers.advance(60_000);

    expect(await body.end()).toContain("data: first\n\n");
    await exchange.aborted;
  });

  /** A POST through the gateway to an upstream the test answers by hand, which the client can abort. */
  async function abortableCall(host: "node" | "fetch" = "node") {
    const upstream = await rawUpstream();
    const gateway = await startGateway({ host });
    gateway.addInstance("ins_raw", { url: `${upstream.url}/mcp`, transport: "streamable-http" });
    const { credential } = gateway.addGrant("ins_raw", "spc_a");
    const client = new AbortController();
    const responding = fetch(gateway.endpoint("ins_raw", "mcp"), {
      method: "POST",
      headers: mcpHeaders(credential),
      body: initializeBody,
      signal: client.signal,
    });
    return { gateway, client, responding, exchange: await upstream.nextExchange() };
  }

  it("aborts the upstream request when the client goes away", async () => {
    const { gateway, client, responding, exchange } = await abortableCall();
    exchange.res.writeHead(200, sseHead);
    exchange.res.write("data: working\n\n");
    const body = textReader(await responding);
    await body.until((text) => text.includes("working"));
    client.abort();

    await exchange.aborted;
    await gateway.usageRecorded(1);
    expect(gateway.usage).toEqual([{ spaceId: "spc_a", error: false }]);
    expect(gateway.logs.at(-1)).toMatchObject({ status: 200, outcome: "client_closed" });
  });

  it("streams events to a fetch host's client and aborts the upstream when it goes away", async () => {
    const { gateway, client, responding, exchange } = await abortableCall("fetch");
    exchange.res.writeHead(200, sseHead);
    exchange.res.write("data: one\n\n");
    const body = textReader(await responding);
    await body.until((text) => text.includes("one"));
    exchange.res.write("data: two\n\n");
    await body.until((text) => text.includes("two"));
    client.abort();

    await exchange.aborted;
    await gateway.usageRecorded(1);
    expect(gateway.logs.at(-1)).toMatchObject({ status: 200, outcome: "client_closed" });
  });

  it("aborts the upstream request when the client goes away before the upstream answers", async () => {
    const { gateway, client, responding, exchange } = await abortableCall();
    const failed = responding.catch((error: unknown) => error);
    client.abort();

    await exchange.aborted;
    expect(await failed).toBeInstanceOf(Error);
    await gateway.usageRecorded(1);
    expect(gateway.logs.at(-1)).toMatchObject({ status: 499, code: "client_closed" });
  });

  /** A tools/call to an upstream the test answers by hand, with timeout 10 s and sseReadTimeout 300 s. */
  async function toolCall(id: string | number) {
    const upstream = await rawUpstream();
    const gateway = await startGateway();
    gateway.addInstance(
      "ins_slow",
      { url: `${upstream.url}/mcp`, transport: "streamable-http" },
      { timeouts: { timeout: 10, sseReadTimeout: 300 } },
    );
    const { credential } = gateway.addGrant("ins_slow", "spc_a");
    const responding = fetch(gateway.endpoint("ins_slow", "mcp"), {
      method: "POST",
      headers: mcpHeaders(credential),
      body: JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "slow" } }),
    });
    return { gateway, responding, exchange: await upstream.nextExchange() };
  }

  it("waits for an answer past timeout, up to sseReadTimeout, as Dify does", async () => {
    const { gateway, responding, exchange } = await toolCall(7);
    gateway.timers.advance(10_000);
    gateway.timers.advance(200_000);
    exchange.res
      .writeHead(200, { "content-type": "application/json" })
      .end('{"jsonrpc":"2.0","id":7,"result":{"content":[]}}');
    const response = await responding;

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: 7, result: { content: [] } });
  });

  it("answers 504 with the request's JSON-RPC id when no answer begins within sseReadTimeout", async () => {
    const { gateway, responding, exchange } = await toolCall("call-7");
    gateway.timers.advance(300_000);
    const response = await responding;

    expect(response.status).toBe(504);
    const requestId = response.headers.get("x-request-id");
    const body = (await response.json()) as { id: unknown; error: JsonRpcError };
    expect(body.id).toBe("call-7");
    expect(body.error.data).toEqual({ code: "upstream_timeout", requestId });
    await exchange.aborted;
    expect(gateway.logs.at(-1)).toMatchObject({
      requestId,
      instanceId: "ins_slow",
      spaceId: "spc_a",
      status: 504,
      code: "upstream_timeout",
    });
    expect(gateway.usage).toEqual([{ spaceId: "spc_a", error: true }]);
  });

  it("answers 504 when a request cannot be sent within timeout: its instance's connections are all taken", async () => {
    const upstream = await rawUpstream();
    const gateway = await startGateway({ connections: 1 });
    gateway.addInstance(
      "ins_busy",
      { url: `${upstream.url}/mcp`, transport: "streamable-http" },
      { timeouts: { timeout: 5, sseReadTimeout: 300 } },
    );
    const holder = gateway.addGrant("ins_busy", "spc_a");
    const waiter = gateway.addGrant("ins_busy", "spc_b");
    const post = (credential: string) =>
      fetch(gateway.endpoint("ins_busy", "mcp"), {
        method: "POST",
        headers: mcpHeaders(credential),
        body: initializeBody,
      });

    const holding = post(holder.credential);
    const held = await upstream.nextExchange();
    held.res.writeHead(200, sseHead).write("data: working\n\n");
    await holding;
    const waiting = post(waiter.credential);
    await gateway.upstreamCalled(2);
    gateway.timers.advance(5_000);
    const response = await waiting;

    expect(response.status).toBe(504);
    expect(await codeOf(response)).toBe("upstream_timeout");
    expect(upstream.exchanges).toHaveLength(1);
  });

  it("answers 502 when the upstream cannot be reached, and 502 to an upstream redirect", async () => {
    const closed = await startRawUpstream();
    await closed.close();
    const redirecting = await rawUpstream((exchange) =>
      exchange.res.writeHead(307, { location: "http://10.0.0.9/internal/mcp" }).end(),
    );
    const gateway = await startGateway();
    gateway.addInstance("ins_down", { url: `${closed.url}/mcp`, transport: "streamable-http" });
    gateway.addInstance("ins_moved", { url: `${redirecting.url}/mcp`, transport: "streamable-http" });
    const down = gateway.addGrant("ins_down", "spc_a");
    const moved = gateway.addGrant("ins_moved", "spc_a");
    const post = (instanceId: string, credential: string) =>
      fetch(gateway.endpoint(instanceId, "mcp"), {
        method: "POST",
        headers: mcpHeaders(credential),
        body: initializeBody,
      });

    const unreachable = await post("ins_down", down.credential);
    const redirected = await post("ins_moved", moved.credential);

    expect(unreachable.status).toBe(502);
    expect(await codeOf(unreachable)).toBe("upstream_unreachable");
    expect(redirected.status).toBe(502);
    expect(redirected.headers.get("location")).toBeNull();
    expect(await redirected.text()).not.toContain("10.0.0.9");
  });

  it("relays an answer the upstream compressed though asked for identity decoded, and 502 for one cut short", async () => {
    const text = '{"jsonrpc":"2.0","id":1,"result":{}}';
    const compressing = await rawUpstream((exchange) =>
      exchange.res
        .writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" })
        .end(gzipSync(text)),
    );
    const cutting = await rawUpstream((exchange) => {
      exchange.res.writeHead(200, { "content-type": "application/json", "content-length": "100" });
      exchange.res.write('{"jsonrpc":', () => exchange.res.socket?.destroy());
    });
    const gateway = await startGateway();
    gateway.addInstance("ins_gzip", { url: `${compressing.url}/mcp`, transport: "streamable-http" });
    gateway.addInstance("ins_cut", { url: `${cutting.url}/mcp`, transport: "streamable-http" });
    const post = (instanceId: string) =>
      fetch(gateway.endpoint(instanceId, "mcp"), {
        method: "POST",
        headers: mcpHeaders(gateway.addGrant(instanceId, "spc_a").credential),
        body: initializeBody,
      });

    const decoded = await post("ins_gzip");
    const cut = await post("ins_cut");

    expect(decoded.status).toBe(200);
    expect(decoded.headers.get("content-encoding")).toBeNull();
    expect(await decoded.text()).toBe(text);
    expect(cut.status).toBe(502);
    expect(await codeOf(cut)).toBe("upstream_unreachable");
    expect(gateway.usage).toEqual([
      { spaceId: "spc_a", error: false },
      { spaceId: "spc_a", error: true },
    ]);
    expect(gateway.logs.map((entry) => [entry.level, entry.status])).toEqual([
      ["debug", 200],
      ["error", 502],
    ]);
  });

  it("logs a completed call only when asked to, and a refused one always", async () => {
    const upstream = await mcpUpstream();
    const gateway = await startGateway({ logCompleted: false });
    gateway.addInstance("ins_quiet", { url: upstream.mcpUrl, transport: "streamable-http" });
    const { credential } = gateway.addGrant("ins_quiet", "spc_a");
    const post = (token: string) =>
      fetch(gateway.endpoint("ins_quiet", "mcp"), {
        method: "POST",
        headers: mcpHeaders(token),
        body: initializeBody,
      });

    const completed = await post(credential);
    expect(completed.status).toBe(200);
    await completed.text();
    expect((await post("sg_not-a-real-credential")).status).toBe(401);
    await gateway.usageRecorded(1);

    expect(gateway.logs.map((entry) => [entry.level, entry.status])).toEqual([["warn", 401]]);
  });

  it("holds no standalone GET stream on Lambda unless the instance allows it, and passes it through locally", async () => {
    const upstream = await mcpUpstream();
    const lambda = await startGateway({ mode: "lambda" });
    const local = await startGateway({ mode: "local" });
    for (const gateway of [lambda, local]) {
      gateway.addInstance("ins_mcp", { url: upstream.mcpUrl, transport: "streamable-http" });
      gateway.addInstance(
        "ins_get",
        { url: upstream.mcpUrl, transport: "streamable-http" },
        { streams: { ...defaultStreams, onLambda: true } },
      );
    }
    const get = (gateway: typeof lambda, instanceId: string) =>
      fetch(gateway.endpoint(instanceId, "mcp"), {
        headers: mcpHeaders(gateway.addGrant(instanceId, "spc_a").credential, {
          accept: "text/event-stream",
        }),
      });

    const lambdaDefault = await get(lambda, "ins_mcp");
    const lambdaAllowed = await get(lambda, "ins_get");
    const localDefault = await get(local, "ins_mcp");

    expect(lambdaDefault.status).toBe(405);
    expect(lambdaDefault.headers.get("allow")).toBe("POST, DELETE");
    // Passed through: the upstream itself refuses a GET without a session.
    expect(lambdaAllowed.status).toBe(400);
    expect(localDefault.status).toBe(400);
    expect(upstream.requests.map((request) => request.method)).toEqual(["GET", "GET"]);
  });
});

describe("hostile upstreams", () => {
  it("ends an answer that decodes past maxBodyBytes with 502, whole or streamed", async () => {
    const bomb = brotliCompressSync(Buffer.alloc(16 * 1024 * 1024, 0x20));
    const whole = await rawUpstream((exchange) =>
      exchange.res.writeHead(200, { "content-type": "application/json", "content-encoding": "br" }).end(bomb),
    );
    const streamed = await rawUpstream((exchange) =>
      exchange.res
        .writeHead(200, { "content-type": "text/event-stream", "content-encoding": "br" })
        .write(bomb),
    );
    const gateway = await startGateway({ maxBodyBytes: 1024 * 1024 });
    gateway.addInstance("ins_whole", { url: `${whole.url}/mcp`, transport: "streamable-http" });
    gateway.addInstance("ins_streamed", { url: `${streamed.url}/mcp`, transport: "streamable-http" });
    const post = (instanceId: string) =>
      fetch(gateway.endpoint(instanceId, "mcp"), {
        method: "POST",
        headers: mcpHeaders(gateway.addGrant(instanceId, "spc_a").credential),
        body: initializeBody,
      });

    const wholeAnswer = await post("ins_whole");
    const streamedAnswer = await post("ins_streamed");
    const streamedBody = await streamedAnswer.arrayBuffer().then(
      () => "whole",
      () => "cut",
    );

    expect(bomb.byteLength).toBeLessThan(1024);
    expect(wholeAnswer.status).toBe(502);
    expect(await codeOf(wholeAnswer)).toBe("upstream_answer_too_large");
    expect(streamedAnswer.status).toBe(200);
    expect(streamedBody).toBe("cut");
    await gateway.usageRecorded(2);
    expect(gateway.logs.at(-1)).toMatchObject({ instanceId: "ins_streamed", outcome: "answer_too_large" });
  });

  it("accepts an SSE endpoint only on the upstream's own origin, and rewrites every endpoint event", async () => {
    const upstream = await rawUpstream();
    const elsewhere = await rawUpstream();
    const gateway = await startGateway();
    gateway.addInstance("ins_sse", { url: `${upstream.url}/sse`, transport: "sse" });
    const { credential } = gateway.addGrant("ins_sse", "spc_a");

    const streaming = fetch(gateway.endpoint("ins_sse", "sse"), {
      headers: { authorization: `Bearer ${credential}`, accept: "text/event-stream" },
    });
    const sse = await upstream.nextExchange();
    sse.res.writeHead(200, sseHead);
    sse.res.write(`event: endpoint\ndata: ${elsewhere.url}/steal?sessionId=s1\n\n`);
    sse.res.write("event: endpoint\ndata: /messages?sessionId=s2\n\n");
    sse.res.write(`event: endpoint\ndata: ${elsewhere.url}/late?sessionId=s3\n\n`);
    sse.res.write("data: done\n\n");
    const body = textReader(await streaming);
    const text = await body.until((received) => received.includes("done"));
    const posting = fetch(`${gateway.endpoint("ins_sse", "messages")}?sessionId=s1`, {
      method: "POST",
      headers: { authorization: `Bearer ${credential}`, "content-type": "application/json" },
      body: '{"jsonrpc":"2.0","id":1,"method":"ping"}',
    });
    const post = await upstream.nextExchange();
    post.res.writeHead(202).end();
    await posting;
    await body.cancel();

    expect(text).toBe("event: endpoint\ndata: messages?sessionId=s2\n\ndata: done\n\n");
    expect(elsewhere.exchanges).toHaveLength(0);
    expect(`${post.method} ${post.path}`).toBe("POST /messages");
    expect(
      gateway.logs.filter((entry) => entry.msg === "SSE endpoint on another origin dropped"),
    ).toHaveLength(2);
  });
});

describe("isolation", () => {
  it("answers 429 past a space's streams, and serves another space and another instance meanwhile", async () => {
    const upstream = await rawUpstream();
    const gateway = await startGateway({ connections: 3 });
    const streams = { ...defaultStreams, perSpace: 2 };
    gateway.addInstance("ins_a", { url: `${upstream.url}/mcp`, transport: "streamable-http" }, { streams });
    gateway.addInstance("ins_b", { url: `${upstream.url}/mcp`, transport: "streamable-http" }, { streams });
    const greedy = gateway.addGrant("ins_a", "spc_greedy");
    const other = gateway.addGrant("ins_a", "spc_other");
    const otherInstance = gateway.addGrant("ins_b", "spc_greedy");
    const open = async (credential: string) => {
      const responding = fetch(gateway.endpoint("ins_a", "mcp"), {
        headers: mcpHeaders(credential, { accept: "text/event-stream" }),
      });
      const exchange = await upstream.nextExchange();
      exchange.res.writeHead(200, sseHead).write(": open\n\n");
      return textReader(await responding);
    };
    const call = async (instanceId: string, credential: string) => {
      const responding = fetch(gateway.endpoint(instanceId, "mcp"), {
        method: "POST",
        headers: mcpHeaders(credential),
        body: initializeBody,
      });
      const exchange = await upstream.nextExchange();
      exchange.res
        .writeHead(200, { "content-type": "application/json" })
        .end('{"jsonrpc":"2.0","id":1,"result":{}}');
      return responding;
    };

    const held = [await open(greedy.credential), await open(greedy.credential)];
    const third = await fetch(gateway.endpoint("ins_a", "mcp"), {
      headers: mcpHeaders(greedy.credential, { accept: "text/event-stream" }),
    });
    const otherSpace = await call("ins_a", other.credential);
    const otherInstanceAnswer = await call("ins_b", otherInstance.credential);
    await held[0]!.cancel();
    // The closed stream is counted once the gateway has let it go: then the space may open another.
    await gateway.usageRecorded(4);
    const afterOneClosed = await open(greedy.credential);
    await afterOneClosed.cancel();
    await held[1]!.cancel();

    expect(third.status).toBe(429);
    expect(third.headers.get("retry-after")).toBe("5");
    expect(await codeOf(third)).toBe("too_many_streams");
    expect(otherSpace.status).toBe(200);
    expect(otherInstanceAnswer.status).toBe(200);
  });
});

describe("MCP 2026-07-28 through the gateway (v2 SDK)", () => {
  async function v2Upstream(options: { modernOnly?: boolean } = {}) {
    const upstream = await startMcpUpstreamV2(options);
    cleanups.push(() => upstream.close());
    return upstream;
  }

  async function connectV2(url: string, credential: string) {
    const client = new ClientV2(
      { name: "modern-client", version: "1.0.0" },
      { versionNegotiation: { mode: { pin: "2026-07-28" } } },
    );
    await client.connect(
      new StreamableHTTPClientTransportV2(new URL(url), { requestInit: bearer(credential) }),
    );
    cleanups.push(() => client.close());
    return client;
  }

  it("serves a tool that computes longer than timeout and less than sseReadTimeout", async () => {
    const upstream = await v2Upstream({ modernOnly: true });
    const gateway = await startGateway();
    gateway.addInstance(
      "ins_v2",
      { url: upstream.mcpUrl, transport: "streamable-http" },
      { timeouts: { timeout: 1, sseReadTimeout: 60 } },
    );
    const { credential } = gateway.addGrant("ins_v2", "spc_a");
    const client = await connectV2(gateway.endpoint("ins_v2", "mcp"), credential);

    const calling = client.callTool({ name: "slow", arguments: {} });
    await upstream.slowWaiting();
    gateway.timers.advance(1_000);
    gateway.timers.advance(30_000);
    upstream.release();
    const result = await calling;

    expect(client.getNegotiatedProtocolVersion()).toBe("2026-07-28");
    expect(result.content).toEqual([{ type: "text", text: "slow done" }]);
    expect(upstream.requests.some((request) => request.mcpMethod === "tools/call")).toBe(true);
  });

  it("passes the 2026-07-28 headers on and gives the space its own", async () => {
    const upstream = await v2Upstream();
    const gateway = await startGateway();
    gateway.addInstance("ins_v2", { url: upstream.mcpUrl, transport: "streamable-http" });
    const { credential } = gateway.addGrant("ins_v2", "spc_a", { headers: { "X-Space": "space-a" } });
    const client = await connectV2(gateway.endpoint("ins_v2", "mcp"), credential);

    const result = await client.callTool({ name: "headers", arguments: {} });
    const seen = JSON.parse((result.content as Array<{ text: string }>)[0]!.text) as Record<string, string>;

    expect(seen["mcp-method"]).toBe("tools/call");
    expect(seen["mcp-name"]).toBe("headers");
    expect(seen["x-space"]).toBe("space-a");
    expect(seen.authorization).toBeUndefined();
  });

  it("holds subscriptions/listen open on Lambda only when the instance allows it, and ends it after maxSeconds", async () => {
    const upstream = await v2Upstream();
    const gateway = await startGateway({ mode: "lambda" });
    gateway.addInstance("ins_off", { url: upstream.mcpUrl, transport: "streamable-http" });
    gateway.addInstance(
      "ins_on",
      { url: upstream.mcpUrl, transport: "streamable-http" },
      { streams: { onLambda: true, maxSeconds: 60, perSpace: 1 } },
    );
    const listen = (instanceId: string, credential: string) =>
      fetch(gateway.endpoint(instanceId, "mcp"), {
        method: "POST",
        headers: mcpHeaders(credential, {
          "mcp-protocol-version": "2026-07-28",
          "mcp-method": "subscriptions/listen",
        }),
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "subscriptions/listen",
          params: {
            notifications: { toolsListChanged: true },
            _meta: {
              "io.modelcontextprotocol/protocolVersion": "2026-07-28",
              "io.modelcontextprotocol/clientInfo": { name: "modern-client", version: "1.0.0" },
              "io.modelcontextprotocol/clientCapabilities": {},
            },
          },
        }),
      });
    const on = gateway.addGrant("ins_on", "spc_a").credential;

    const refused = await listen("ins_off", gateway.addGrant("ins_off", "spc_a").credential);
    const held = await listen("ins_on", on);
    const body = textReader(held);
    await body.until((text) => text.includes("\n\n"));
    const second = await listen("ins_on", on);
    gateway.timers.advance(60_000);
    const text = await body.end();

    expect(refused.status).toBe(403);
    expect(await codeOf(refused)).toBe("streams_not_allowed");
    expect(held.status).toBe(200);
    expect(held.headers.get("content-type")).toContain("text/event-stream");
    expect(second.status).toBe(429);
    expect(text.endsWith("\n\n")).toBe(true);
    expect(gateway.logs.at(-1)).toMatchObject({ instanceId: "ins_on", outcome: "max_duration" });
  });
});

describe("refusals", () => {
  it("refuses a flood of unknown credentials from one client without a lookup each, and logs them as a rate", async () => {
    const upstream = await mcpUpstream();
    const gateway = await startGateway();
    gateway.addInstance("ins_mcp", { url: upstream.mcpUrl, transport: "streamable-http" });
    let lookups = 0;
    const lookup = gateway.resolver.grantByTokenHash.bind(gateway.resolver);
    gateway.resolver.grantByTokenHash = (tokenHash) => {
      lookups += 1;
      return lookup(tokenHash);
    };

    const statuses: number[] = [];
    for (let i = 0; i < 200; i++) {
      const response = await fetch(gateway.endpoint("ins_mcp", "mcp"), {
        method: "POST",
        headers: mcpHeaders(newCredential()),
        body: initializeBody,
      });
      statuses.push(response.status);
      await response.arrayBuffer();
    }
    gateway.clock.now += 60_000;
    await fetch(gateway.endpoint("ins_mcp", "mcp"), { method: "POST", headers: mcpHeaders(newCredential()) });

    expect(new Set(statuses)).toEqual(new Set([401]));
    expect(lookups).toBeLessThanOrEqual(21);
    expect(gateway.logs.length).toBeLessThanOrEqual(3);
    expect(gateway.logs).toContainEqual(
      expect.objectContaining({ msg: "gateway refusals", counts: { credential_invalid: 199 } }),
    );
    expect(upstream.requests).toHaveLength(0);
  });

  it("counts calls refused with 403 or 401 for a known grant as errors, not as calls", async () => {
    const upstream = await mcpUpstream();
    const gateway = await startGateway();
    gateway.addInstance("ins_mcp", { url: upstream.mcpUrl, transport: "streamable-http" });
    const disabled = gateway.addGrant("ins_mcp", "spc_disabled", { enabled: false });
    const expired = gateway.addGrant("ins_mcp", "spc_expired", {
      expiresAt: new Date(gateway.clock.now).toISOString(),
    });
    const post = (credential: string) =>
      fetch(gateway.endpoint("ins_mcp", "mcp"), {
        method: "POST",
        headers: mcpHeaders(credential),
        body: initializeBody,
      });

    expect((await post(disabled.credential)).status).toBe(403);
    expect((await post(expired.credential)).status).toBe(401);

    expect(gateway.usage).toEqual([
      { spaceId: "spc_disabled", error: true, refused: true },
      { spaceId: "spc_expired", error: true, refused: true },
    ]);
  });
});

function chunked(payload: Uint8Array, size = 64 * 1024): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= payload.length) return controller.close();
      controller.enqueue(payload.subarray(offset, offset + size));
      offset += size;
    },
  });
}
