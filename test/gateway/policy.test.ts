import { createHash, randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import {
  Client as ClientV2,
  StreamableHTTPClientTransport as StreamableHTTPClientTransportV2,
} from "@modelcontextprotocol/client";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { initializeRequest, startMcpUpstream } from "../../dev/mcp-upstream";
import { memoryCounter } from "../../functions/core/limit-counter";
import { identityOff } from "../../functions/core/policy";
import { defaultStreams } from "../../functions/core/streams";
import {
  createGateway,
  type GatewayGrant,
  type GatewayInstance,
  type UsageSink,
} from "../../functions/gateway/core";
import { nodeGateway } from "../../functions/gateway/node";
import { requestUpstream } from "../../functions/gateway/upstream";
import { startMcpUpstreamV2 } from "../support/mcp-upstream-v2";
import { listenOnLoopback, MemoryResolver } from "./fixtures";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

const listen = (server: Server) => listenOnLoopback(server, cleanups);

/** The gateway on node:http, recording the JSON-RPC methods that reached the upstream and the usage. */
async function startGateway(options: { cooldownMs?: number } = {}) {
  const resolver = new MemoryResolver();
  const clock = { now: Date.parse("2026-01-15T10:00:30Z") };
  const upstreamMethods: string[] = [];
  const usage: Array<{ spaceId: string; outcome: Parameters<UsageSink["record"]>[1] }> = [];
  const gateway = createGateway({
    resolver,
    mode: "local",
    now: () => clock.now,
    limitCounter: memoryCounter(() => clock.now),
    jwks: { cooldownMs: options.cooldownMs ?? 0 },
    upstream: (url, init) => {
      if (init.body instanceof Uint8Array) {
        const body = JSON.parse(Buffer.from(init.body).toString("utf8")) as
          | { method?: string; params?: { name?: string } }
          | Array<{ method?: string }>;
        for (const message of Array.isArray(body) ? body : [body]) {
          upstreamMethods.push(
            message.method === "tools/call"
              ? `tools/call ${(message as { params?: { name?: string } }).params?.name}`
              : String(message.method),
          );
        }
      }
      return requestUpstream(url, init);
    },
    usage: { record: (grant, outcome) => usage.push({ spaceId: grant.spaceId, outcome }) },
  });
  const url = await listen(createServer(nodeGateway(gateway)));
  const addInstance = (
    id: string,
    upstream: GatewayInstance["upstream"],
    overrides: Partial<GatewayInstance> = {},
  ) => {
    resolver.instances.set(id, {
      id,
      enabled: true,
      upstream,
      headers: {},
      timeouts: { timeout: 30, sseReadTimeout: 300 },
      streams: defaultStreams,
      forwardHeaders: [],
      ...overrides,
    });
  };
  const addGrant = (instanceId: string, spaceId: string, overrides: Partial<GatewayGrant> = {}) => {
    const credential = `sg_${randomBytes(32).toString("base64url")}`;
    resolver.grants.set(sha256(credential), {
      instanceId,
      platformId: "plt_dify",
      spaceId,
      tokenHash: sha256(credential),
      enabled: true,
      expiresAt: null,
      headers: {},
      ...overrides,
    });
    return credential;
  };
  const endpoint = (instanceId: string, leaf: "mcp" | "sse") => `${url}/gateway/${instanceId}/${leaf}`;
  return { clock, upstreamMethods, usage, addInstance, addGrant, endpoint };
}

async function v1Upstream(options: Parameters<typeof startMcpUpstream>[0] = {}) {
  const upstream = await startMcpUpstream(options);
  cleanups.push(() => upstream.close());
  return upstream;
}

async function connect(url: string, credential: string, extraHeaders: Record<string, string> = {}) {
  const client = new Client({ name: "Dify", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { authorization: `Bearer ${credential}`, ...extraHeaders } },
    }),
  );
  cleanups.push(() => client.close());
  return client;
}

const toolNames = (tools: Array<{ name: string }>) => tools.map((tool) => tool.name);

async function listAllPages(client: Client) {
  const names: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listTools(cursor === undefined ? {} : { cursor });
    names.push(...toolNames(page.tools));
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return names;
}

const mcpHeaders = (credential: string) => ({
  authorization: `Bearer ${credential}`,
  accept: "application/json, text/event-stream",
  "content-type": "application/json",
});

describe("tool policy", () => {
  it("lists only a narrowed space's tools, page by page, and answers a denied call without reaching the upstream (event-stream answers)", async () => {
    const upstream = await v1Upstream({ pageSize: 1 });
    const gateway = await startGateway();
    gateway.addInstance(
      "ins_v1",
      { url: upstream.mcpUrl, transport: "streamable-http" },
      { tools: ["echo", "add", "headers"] },
    );
    const narrowed = gateway.addGrant("ins_v1", "spc_narrow", { tools: ["echo", "slow"] });
    const whole = gateway.addGrant("ins_v1", "spc_whole");

    const client = await connect(gateway.endpoint("ins_v1", "mcp"), narrowed);
    const listed = await listAllPages(client);
    const denied = await client
      .callTool({ name: "add", arguments: { a: 1, b: 2 } })
      .catch((error: Error) => error);
    const echoed = await client.callTool({ name: "echo", arguments: { text: "allowed" } });
    const other = await connect(gateway.endpoint("ins_v1", "mcp"), whole);

    // "slow" is the space's wish but not the instance's: the instance's list bounds every space.
    expect(listed).toEqual(["echo"]);
    expect(String(denied)).toContain('The tool "add" is not allowed in this space.');
    expect(echoed.content).toEqual([{ type: "text", text: "allowed" }]);
    expect(gateway.upstreamMethods).not.toContain("tools/call add");
    expect(await listAllPages(other)).toEqual(["echo", "add", "headers"]);
  });

  it("filters tool lists on the SSE transport's stream", async () => {
    const upstream = await v1Upstream();
    const gateway = await startGateway();
    gateway.addInstance("ins_sse", { url: upstream.sseUrl, transport: "sse" });
    const credential = gateway.addGrant("ins_sse", "spc_a", { tools: ["add"] });

    const client = new Client({ name: "Dify", version: "1.0.0" });
    await client.connect(
      new SSEClientTransport(new URL(gateway.endpoint("ins_sse", "sse")), {
        requestInit: { headers: { authorization: `Bearer ${credential}` } },
      }),
    );
    cleanups.push(() => client.close());

    expect(toolNames((await client.listTools()).tools)).toEqual(["add"]);
    expect((await client.callTool({ name: "add", arguments: { a: 2, b: 3 } })).structuredContent).toEqual({
      sum: 5,
    });
  });

  it("reads Mcp-Method and Mcp-Name from a 2026-07-28 client and filters JSON answers (v2 SDK)", async () => {
    const upstream = await startMcpUpstreamV2({ modernOnly: true });
    cleanups.push(() => upstream.close());
    const gateway = await startGateway();
    gateway.addInstance("ins_v2", { url: upstream.mcpUrl, transport: "streamable-http" });
    const credential = gateway.addGrant("ins_v2", "spc_a", { tools: ["echo"] });

    const client = new ClientV2(
      { name: "modern-client", version: "2.0.0" },
      { versionNegotiation: { mode: { pin: "2026-07-28" } } },
    );
    await client.connect(
      new StreamableHTTPClientTransportV2(new URL(gateway.endpoint("ins_v2", "mcp")), {
        requestInit: { headers: { authorization: `Bearer ${credential}` } },
      }),
    );
    cleanups.push(() => client.close());
    const { tools } = await client.listTools();
    const denied = await client.callTool({ name: "headers", arguments: {} }).catch((error: Error) => error);

    expect(toolNames(tools)).toEqual(["echo"]);
    expect(String(denied)).toContain('The tool "headers" is not allowed in this space.');
    expect(upstream.requests.filter((request) => request.mcpMethod === "tools/call")).toEqual([]);
  });

  it("answers a batch holding a denied call with an error for each of its requests, sending none", async () => {
    const upstream = await v1Upstream();
    const gateway = await startGateway();
    gateway.addInstance("ins_v1", { url: upstream.mcpUrl, transport: "streamable-http" });
    const credential = gateway.addGrant("ins_v1", "spc_a", { tools: ["echo"] });

    const response = await fetch(gateway.endpoint("ins_v1", "mcp"), {
      method: "POST",
      headers: mcpHeaders(credential),
      body: JSON.stringify([
        { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "echo", arguments: { text: "a" } } },
        { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "add", arguments: { a: 1, b: 1 } } },
      ]),
    });
    const body = (await response.json()) as Array<{ id: number; error: { data: { code: string } } }>;

    expect(response.status).toBe(200);
    expect(body.map((answer) => [answer.id, answer.error.data.code])).toEqual([
      [1, "tool_not_allowed"],
      [2, "tool_not_allowed"],
    ]);
    expect(gateway.upstreamMethods).toEqual([]);
    expect(gateway.usage).toMatchObject([
      { spaceId: "spc_a", outcome: { refused: true, outcome: "refused" } },
    ]);
  });
});

describe("rate limits", () => {
  const callEcho = (url: string, credential: string, id: number) =>
    fetch(url, {
      method: "POST",
      headers: mcpHeaders(credential),
      body: JSON.stringify({
        jsonrpc: "2.0",
        id,
        method: "tools/call",
        params: { name: "echo", arguments: { text: "x" } },
      }),
    });

  it("answers 429 with Retry-After past a space's calls per minute while another space is served, until the next minute", async () => {
    const upstream = await startMcpUpstreamV2();
    cleanups.push(() => upstream.close());
    const gateway = await startGateway();
    gateway.addInstance(
      "ins_v2",
      { url: upstream.mcpUrl, transport: "streamable-http" },
      { limits: { callsPerMinute: 2, concurrent: null } },
    );
    const busy = gateway.addGrant("ins_v2", "spc_busy");
    const quiet = gateway.addGrant("ins_v2", "spc_quiet");
    const roomy = gateway.addGrant("ins_v2", "spc_roomy", { limits: { callsPerMinute: 5 } });
    const url = gateway.endpoint("ins_v2", "mcp");

    const first = await callEcho(url, busy, 1);
    const second = await callEcho(url, busy, 2);
    const third = await callEcho(url, busy, 3);
    const other = await callEcho(url, quiet, 4);
    const roomyThird = [
      await callEcho(url, roomy, 5),
      await callEcho(url, roomy, 6),
      await callEcho(url, roomy, 7),
    ];
    gateway.clock.now += 30_000;
    const nextMinute = await callEcho(url, busy, 8);

    expect([first.status, second.status, third.status, other.status]).toEqual([200, 200, 429, 200]);
    expect(third.headers.get("retry-after")).toBe("30");
    const error = (await third.json()) as { id: number; error: { message: string; data: { code: string } } };
    expect(error.id).toBe(3);
    expect(error.error.data.code).toBe("rate_limited");
    expect(error.error.message).toContain("2 tool calls a minute");
    expect(roomyThird.map((response) => response.status)).toEqual([200, 200, 200]);
    expect(nextMinute.status).toBe(200);
    expect(gateway.usage.filter((entry) => entry.outcome.outcome === "limited")).toMatchObject([
      { spaceId: "spc_busy", outcome: { status: 429 } },
    ]);
    expect(gateway.upstreamMethods.filter((method) => method === "tools/call echo")).toHaveLength(7);
  });

  it("answers 429 past a space's concurrent calls and takes calls again once one ends", async () => {
    const upstream = await v1Upstream();
    const gateway = await startGateway();
    gateway.addInstance(
      "ins_v1",
      { url: upstream.mcpUrl, transport: "streamable-http" },
      { limits: { callsPerMinute: null, concurrent: 1 } },
    );
    const credential = gateway.addGrant("ins_v1", "spc_a");
    const client = await connect(gateway.endpoint("ins_v1", "mcp"), credential);

    const slow = client.callTool({ name: "slow", arguments: { steps: 1 } });
    await upstream.slowWaiting();
    const meanwhile = client.callTool({ name: "echo", arguments: { text: "too many" } });
    await expect(meanwhile).rejects.toThrow(/429|in flight at once/);
    upstream.release();
    await slow;
    const after = await client.callTool({ name: "echo", arguments: { text: "room again" } });

    expect(after.content).toEqual([{ type: "text", text: "room again" }]);
  });
});

/** A JWKS endpoint serving whichever keys the test sets. */
async function startJwks() {
  let keys: JWK[] = [];
  let fetches = 0;
  const url = await listen(
    createServer((_request, response) => {
      fetches += 1;
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys }));
    }),
  );
  const newKey = async (kid: string) => {
    const { publicKey, privateKey } = await generateKeyPair("ES256");
    return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" } };
  };
  return {
    url: `${url}/.well-known/jwks.json`,
    newKey,
    serve: (...served: Array<{ jwk: JWK }>) => {
      keys = served.map((key) => key.jwk);
    },
    fetches: () => fetches,
  };
}

const issuer = "https://sso.example.test";
const audience = "spacegate-upstream";

async function token(
  key: { kid: string; privateKey: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"] },
  claims: Record<string, unknown> = {},
  options: { audience?: string; expiresAt?: number } = {},
) {
  return new SignJWT({ email: "ada@example.test", groups: ["eng", "ops"], ...claims })
    .setProtectedHeader({ alg: "ES256", kid: key.kid })
    .setIssuer(issuer)
    .setAudience(options.audience ?? audience)
    .setSubject("user-42")
    .setIssuedAt()
    .setExpirationTime(options.expiresAt ?? Math.floor(Date.now() / 1000) + 600)
    .sign(key.privateKey);
}

const headersSeen = async (client: Client) => {
  const result = await client.callTool({ name: "headers", arguments: {} });
  return JSON.parse((result.content as Array<{ text: string }>)[0]!.text) as Record<string, string>;
};

describe("identity", () => {
  it("forwards Dify's per-user token renamed as Authorization: Bearer, and nothing when off", async () => {
    const upstream = await v1Upstream();
    const gateway = await startGateway();
    gateway.addInstance(
      "ins_fwd",
      { url: upstream.mcpUrl, transport: "streamable-http" },
      { identity: { ...identityOff, mode: "forward", header: "authorization", bearer: true } },
    );
    gateway.addInstance("ins_off", { url: upstream.mcpUrl, transport: "streamable-http" });
    const sso = { "x-dify-sso-access-token": "opaque-user-token" };

    const forwarded = await headersSeen(
      await connect(gateway.endpoint("ins_fwd", "mcp"), gateway.addGrant("ins_fwd", "spc_a"), sso),
    );
    const off = await headersSeen(
      await connect(gateway.endpoint("ins_off", "mcp"), gateway.addGrant("ins_off", "spc_a"), sso),
    );

    expect(forwarded.authorization).toBe("Bearer opaque-user-token");
    expect(forwarded["x-dify-sso-access-token"]).toBeUndefined();
    expect(off["x-dify-sso-access-token"]).toBeUndefined();
    expect(off.authorization).toBeUndefined();
  });

  it("verifies the user's token against the issuer, audience and JWKS, adds chosen claims, and picks up a rotated key", async () => {
    const jwks = await startJwks();
    const first = await jwks.newKey("key-1");
    jwks.serve(first);
    const upstream = await v1Upstream();
    const gateway = await startGateway();
    gateway.addInstance(
      "ins_ver",
      { url: upstream.mcpUrl, transport: "streamable-http" },
      {
        identity: {
          ...identityOff,
          mode: "verify",
          issuer,
          audience,
          jwksUrl: jwks.url,
          claimHeaders: { sub: "x-user-id", email: "x-user-email", groups: "x-user-groups" },
        },
      },
    );
    const credential = gateway.addGrant("ins_ver", "spc_a");
    const url = gateway.endpoint("ins_ver", "mcp");

    const seen = await headersSeen(
      await connect(url, credential, { "x-dify-sso-access-token": await token(first) }),
    );
    const second = await jwks.newKey("key-2");
    jwks.serve(second);
    const rotated = await headersSeen(
      await connect(url, credential, { "x-dify-sso-access-token": await token(second) }),
    );

    expect(seen["x-dify-sso-access-token"]).toBeDefined();
    expect([seen["x-user-id"], seen["x-user-email"], seen["x-user-groups"]]).toEqual([
      "user-42",
      "ada@example.test",
      "eng,ops",
    ]);
    expect(rotated["x-user-id"]).toBe("user-42");
    expect(jwks.fetches()).toBe(2);
  });

  it("refuses a missing, expired, foreign-audience or unknown-key token with 401, before the upstream", async () => {
    const jwks = await startJwks();
    const key = await jwks.newKey("key-1");
    const stranger = await jwks.newKey("key-x");
    jwks.serve(key);
    const upstream = await v1Upstream();
    const gateway = await startGateway();
    gateway.addInstance(
      "ins_ver",
      { url: upstream.mcpUrl, transport: "streamable-http" },
      { identity: { ...identityOff, mode: "verify", issuer, audience, jwksUrl: jwks.url } },
    );
    const credential = gateway.addGrant("ins_ver", "spc_a");
    const initialize = (sso?: string) =>
      fetch(gateway.endpoint("ins_ver", "mcp"), {
        method: "POST",
        headers: { ...mcpHeaders(credential), ...(sso ? { "x-dify-sso-access-token": sso } : {}) },
        body: initializeRequest(),
      });
    const codeOf = async (response: Response) => [
      response.status,
      ((await response.json()) as { error: { data: { code: string } } }).error.data.code,
    ];

    expect(await codeOf(await initialize())).toEqual([401, "identity_missing"]);
    expect(
      await codeOf(await initialize(await token(key, {}, { expiresAt: Math.floor(Date.now() / 1000) - 60 }))),
    ).toEqual([401, "identity_expired"]);
    expect(await codeOf(await initialize(await token(key, {}, { audience: "another-app" })))).toEqual([
      401,
      "identity_invalid",
    ]);
    expect(await codeOf(await initialize(await token(stranger)))).toEqual([401, "identity_invalid"]);
    expect(await codeOf(await initialize("not-a-jwt"))).toEqual([401, "identity_invalid"]);
    expect(upstream.requests).toEqual([]);
  });
});
