/**
 * The gateway's cost: tools/call of an echo tool directly, through a minimal node:http proxy and
 * through the gateway of the local product, 1 at a time and 32 at a time; and how late SSE events
 * arrive through each. For comparison, a fetch handler with no logic (the floor for any gateway
 * served as one) and the same gateway served as a fetch handler. Client, upstream, the minimal
 * proxies, the local product and the fetch handlers are separate processes sharing the machine's
 * cores, as Dify, an MCP server and Spacegate would.
 *
 *   npm run bench:gateway            CALLS=2000 WARMUP=200 WARMUP_ROUND=3000 CONCURRENCY=32 EVENTS=200 ROUNDS=5
 *                                    to change the sizes
 */
import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Http2Bindings, HttpBindings } from "@hono/node-server";
import type { Access as AccessTypes } from "../../functions/core/access";

const CALLS = Number(process.env.CALLS ?? 2000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const WARMUP = Number(process.env.WARMUP ?? 200);
// Calls per path, 32 at a time, before any is measured: until then the client's, the upstream's and
// the server's code is still being compiled, and the first paths measured would pay for it.
const WARMUP_ROUND = Number(process.env.WARMUP_ROUND ?? 3000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 32);
const EVENTS = Number(process.env.EVENTS ?? 200);
const EVENT_INTERVAL_MS = 10;

const aims = { addedP50Ms: 0.3, throughputRatio: 0.9, eventDelayMs: 5 };

type Target = { url: string; headers: Record<string, string> };
type CallsRequest = { kind: "calls"; target: Target; body: string; count: number; concurrency: number };
type CallsResult = { kind: "calls"; latenciesMs: number[]; wallMs: number };
type EventsRequest = { kind: "events"; target: Target; body: string };
type EventsResult = { kind: "events"; delaysMs: number[] };
type UpstreamReady = { kind: "upstream"; plainUrl: string; sdkUrl: string };
type ServerRequest = { kind: "serve"; plainUrl: string; sdkUrl: string };
type CpuUsage = { kind: "cpu"; user: number; system: number };
type ProxyReady = { kind: "proxy"; plain: string; sdk: string };
type ProductReady = {
  kind: "product";
  gateway: { plain: string; sdk: string };
  credentials: { plain: string; sdk: string };
  dataDir: string;
};
type HandlersReady = {
  kind: "handlers";
  handlerProxy: string;
  fetchGateway: string;
  credential: string;
  dataDir: string;
};

const role = process.env.SPACEGATE_BENCH_ROLE;
const noop = () => {};

const listen = (server: http.Server) =>
  new Promise<string>((resolve) => {
    server.keepAliveTimeout = 120_000;
    server.listen(0, "127.0.0.1", () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    );
  });

const readBody = async (req: IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
};

// ---------------------------------------------------------------------------------------------- upstream

/**
 * A plain MCP server over node:http: JSON answers to initialize, tools/list and tools/call `echo`;
 * tools/call `ticker` answers an SSE stream of progress notifications, each carrying the monotonic
 * time it was written at (comparable across processes of this machine).
 */
function plainUpstream() {
  const json = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
  };
  return http.createServer(async (req, res) => {
    const message = JSON.parse((await readBody(req)) || "{}") as {
      id?: number;
      method?: string;
      params?: { name?: string; arguments?: Record<string, unknown> };
    };
    const result = (value: unknown) => json(res, 200, { jsonrpc: "2.0", id: message.id, result: value });
    switch (message.method) {
      case "initialize":
        return result({
          protocolVersion: "2025-06-18",
          capabilities: { tools: {} },
          serverInfo: { name: "bench-echo", version: "1.0.0" },
        });
      case "tools/list":
        return result({
          tools: [
            { name: "echo", inputSchema: { type: "object", properties: { text: { type: "string" } } } },
            { name: "ticker", inputSchema: { type: "object", properties: {} } },
          ],
        });
      case "tools/call":
        break;
      default:
        res.writeHead(202).end();
        return;
    }
    if (message.params?.name !== "ticker") {
      return result({ content: [{ type: "text", text: String(message.params?.arguments?.text ?? "") }] });
    }
    const count = Number(message.params.arguments?.count ?? 10);
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    let sent = 0;
    const timer = setInterval(() => {
      sent++;
      const event = {
        jsonrpc: "2.0",
        method: "notifications/progress",
        params: {
          progressToken: 1,
          progress: sent,
          total: count,
          sentAt: process.hrtime.bigint().toString(),
        },
      };
      res.write(`event: message\ndata: ${JSON.stringify(event)}\n\n`);
      if (sent < count) return;
      clearInterval(timer);
      const done = { jsonrpc: "2.0", id: message.id, result: { content: [{ type: "text", text: "done" }] } };
      res.end(`event: message\ndata: ${JSON.stringify(done)}\n\n`);
    }, EVENT_INTERVAL_MS);
    res.on("close", () => clearInterval(timer));
  });
}

async function runUpstream() {
  const { startMcpUpstream } = await import("../../dev/mcp-upstream");
  const plainUrl = await listen(plainUpstream());
  // Idle connections stay open as on the plain upstream, so that no path, between its turns, reuses
  // one the upstream is closing: the bench measures calls, not keep-alive races.
  const sdk = await startMcpUpstream({ keepAliveTimeoutMs: 120_000 });
  const ready: UpstreamReady = { kind: "upstream", plainUrl: `${plainUrl}/mcp`, sdkUrl: sdk.mcpUrl };
  process.send?.(ready);
}

// ------------------------------------------------------------------------------------------------ server

/** The practical floor for a Node gateway: node:http piping both ways over a keep-alive agent. */
function minimalProxy(upstream: string) {
  const target = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  return http.createServer((req, res) => {
    const forward = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on("error", () => res.destroy());
    req.pipe(forward);
  });
}

/** A fetch handler on @hono/node-server, on a loopback port. */
async function serveHandler(
  handler: (request: Request, env: HttpBindings | Http2Bindings) => Promise<Response>,
) {
  const { serve } = await import("@hono/node-server");
  return new Promise<string>((resolve) => {
    const server = serve({ fetch: handler, port: 0, hostname: "127.0.0.1" }, (info) =>
      resolve(`http://127.0.0.1:${info.port}`),
    );
    (server as http.Server).keepAliveTimeout = 120_000;
  });
}

const hopByHop = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "host"]);

/**
 * The floor for any gateway written as a fetch handler on this platform: the local gateway's own
 * upstream client (undici's pools), the body relayed whole as the gateway relays a small one. No
 * checks, no header work, no logging: what is left is the web-standard serving layer.
 */
async function handlerProxy(upstream: string) {
  const { createPooledUpstream } = await import("../../functions/gateway/upstream-pooled");
  const requestUpstream = createPooledUpstream();
  return serveHandler(async (request) => {
    const headers: Record<string, string> = {};
    for (const [name, value] of request.headers) if (!hopByHop.has(name)) headers[name] = value;
    const answer = await requestUpstream(upstream, {
      method: request.method,
      headers,
      body: new Uint8Array(await request.arrayBuffer()),
      signal: request.signal,
    });
    const body = answer.body ? await answer.body.bytes() : null;
    const answerHeaders = new Headers();
    for (const [name, value] of Object.entries(answer.headers)) {
      if (typeof value === "string" && !hopByHop.has(name)) answerHeaders.set(name, value);
    }
    return new Response(body, { status: answer.status, headers: answerHeaders });
  });
}

/** Answers the main process's questions about this process's CPU time. */
function reportCpu() {
  process.on("message", (message: { kind: string }) => {
    if (message.kind === "cpu") process.send?.({ kind: "cpu", ...process.cpuUsage() } satisfies CpuUsage);
  });
}

async function runProxy(upstream: ServerRequest) {
  const ready: ProxyReady = {
    kind: "proxy",
    plain: `${await listen(minimalProxy(upstream.plainUrl))}/mcp`,
    sdk: `${await listen(minimalProxy(upstream.sdkUrl))}/mcp`,
  };
  reportCpu();
  process.send?.(ready);
}

/** The local product with both bench upstreams as instances and a grant for each. */
async function startProduct(upstream: ServerRequest) {
  const { startLocal } = await import("../../functions/local/server");
  const { Instance } = await import("../../functions/core/instance");
  const { Access } = await import("../../functions/core/access");
  const { sealHeaders } = await import("../../functions/core/headers");
  const { Keys } = await import("../../functions/core/store/keys");

  const dataDir = mkdtempSync(path.join(tmpdir(), "spacegate-bench-"));
  const local = await startLocal({ dataDir, port: 0, inMemory: true, adminPassword: "bench-admin-password" });
  const { store } = local.runtime;

  // One grant per instance, written as Access.put would, without the Dify platform it reads the space from.
  const platformId = "plt_bench";
  const spaceId = "00000000-0000-4000-8000-000000000001";
  const grantFor = async (instanceId: string) => {
    const credential = Access.newCredential();
    const tokenHash = Access.hashCredential(credential);
    const at = new Date().toISOString();
    const grant: AccessTypes.Stored = {
      ...Keys.grant(instanceId, platformId, spaceId),
      instanceId,
      platformId,
      spaceId,
      spaceName: "Bench space",
      owner: null,
      credential: await local.runtime.envelope.encrypt(credential),
      credentialPreview: `sg_••••${credential.slice(-4)}`,
      tokenHash,
      enabled: true,
      headers: await sealHeaders({ "X-Upstream-Key": "space-key", "X-Team": "bench" }),
      expiresAt: null,
      createdAt: at,
      updatedAt: at,
      lastUsedAt: null,
      lastRotatedAt: null,
      calls: 0,
      errors: 0,
      sync: null,
      version: 1,
    };
    const index: AccessTypes.TokenIndex = {
      ...Keys.token(tokenHash),
      tokenHash,
      instanceId,
      platformId,
      spaceId,
    };
    await store.create(index);
    await store.create(grant);
    return credential;
  };
  const plain = await Instance.create({
    name: "Bench echo",
    upstream: { url: upstream.plainUrl, transport: "streamable-http" },
    headers: { "X-Upstream-Key": "default-key" },
  });
  const sdk = await Instance.create({
    name: "Bench SDK",
    upstream: { url: upstream.sdkUrl, transport: "streamable-http" },
    headers: { "X-Upstream-Key": "default-key" },
  });
  if (!plain.discovery?.ok || !sdk.discovery?.ok)
    throw new Error("tools discovery of the bench upstreams failed");
  const credentials = { plain: await grantFor(plain.id), sdk: await grantFor(sdk.id) };
  return { local, dataDir, instances: { plain: plain.id, sdk: sdk.id }, credentials };
}

async function runProduct(upstream: ServerRequest) {
  const { local, dataDir, instances, credentials } = await startProduct(upstream);
  const ready: ProductReady = {
    kind: "product",
    gateway: {
      plain: `${local.url}/gateway/${instances.plain}/mcp`,
      sdk: `${local.url}/gateway/${instances.sdk}/mcp`,
    },
    credentials,
    dataDir,
  };
  reportCpu();
  process.send?.(ready);
}

/** The fetch-handler rows: the floor for any fetch handler, and the gateway served as one. */
async function runHandlers(upstream: ServerRequest) {
  const handlerPlain = await handlerProxy(upstream.plainUrl);
  const { local, dataDir, instances, credentials } = await startProduct(upstream);
  const { fetchGateway } = await import("../../functions/gateway/fetch");
  const asFetch = fetchGateway(local.gateway);
  const fetchUrl = await serveHandler((request, env) =>
    asFetch(request, { clientIp: env.incoming.socket.remoteAddress }),
  );
  const ready: HandlersReady = {
    kind: "handlers",
    handlerProxy: `${handlerPlain}/mcp`,
    fetchGateway: `${fetchUrl}/gateway/${instances.plain}/mcp`,
    credential: credentials.plain,
    dataDir,
  };
  reportCpu();
  process.send?.(ready);
}

// ------------------------------------------------------------------------------------------------ client

function post(agent: http.Agent, target: Target, body: string): Promise<{ status: number; ms: number }> {
  const url = new URL(target.url);
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const request = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: "POST",
        agent,
        headers: { ...target.headers, "content-length": Buffer.byteLength(body) },
      },
      (response) => {
        response.on("data", noop);
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, ms: Number(process.hrtime.bigint() - started) / 1e6 }),
        );
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

async function runCalls({ target, body, count, concurrency }: CallsRequest): Promise<CallsResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const latenciesMs: number[] = new Array(count);
  const drive = async (total: number, record: boolean) => {
    let next = 0;
    const lane = async () => {
      while (next < total) {
        const index = next++;
        const { status, ms } = await post(agent, target, body).catch((error: Error) => {
          throw new Error(`${target.url}: ${error.message}`);
        });
        if (status !== 200) throw new Error(`${target.url} answered ${status}`);
        if (record) latenciesMs[index] = ms;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, lane));
  };
  await drive(WARMUP, false);
  const started = process.hrtime.bigint();
  await drive(count, true);
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  agent.destroy();
  return { kind: "calls", latenciesMs, wallMs };
}

/** Reads one SSE answer, noting for each progress event how long after its sending it arrived. */
function runEvents({ target, body }: EventsRequest): Promise<EventsResult> {
  const url = new URL(target.url);
  const delaysMs: number[] = [];
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        headers: { ...target.headers, "content-length": Buffer.byteLength(body) },
      },
      (response) => {
        if (response.statusCode !== 200) reject(new Error(`${target.url} answered ${response.statusCode}`));
        let pending = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          const receivedAt = process.hrtime.bigint();
          pending += chunk;
          for (let end = pending.indexOf("\n\n"); end >= 0; end = pending.indexOf("\n\n")) {
            const event = pending.slice(0, end);
            pending = pending.slice(end + 2);
            const sentAt = /"sentAt":"(\d+)"/.exec(event)?.[1];
            if (sentAt) delaysMs.push(Number(receivedAt - BigInt(sentAt)) / 1e6);
          }
        });
        response.on("end", () => resolve({ kind: "events", delaysMs }));
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end(body);
  });
}

function runClient() {
  process.on("message", async (message: CallsRequest | EventsRequest) => {
    try {
      process.send?.(message.kind === "calls" ? await runCalls(message) : await runEvents(message));
    } catch (error) {
      process.send?.({ kind: "error", message: String(error) });
    }
  });
}

// -------------------------------------------------------------------------------------------------- main

const roles = new Map<ChildProcess, string>();

/** Starts a role from the bench's bundle: compiled, as `npm start` and Lambda run the product. */
function spawn(bundle: string, name: string): ChildProcess {
  const child = fork(bundle, {
    execArgv: ["--enable-source-maps"],
    env: { ...process.env, SPACEGATE_BENCH_ROLE: name },
    // The local product's log (a line per failed gateway request, completed ones at debug): shown nowhere.
    stdio: ["ignore", name === "product" || name === "handlers" ? "ignore" : "inherit", "inherit", "ipc"],
  });
  roles.set(child, name);
  return child;
}

function ask<T>(child: ChildProcess, message?: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const exited = (code: number | null) =>
      reject(new Error(`the ${roles.get(child)} process exited (${code})`));
    child.once("exit", exited);
    child.once("message", (answer: T & { kind: string; message?: string }) => {
      child.off("exit", exited);
      if (answer.kind === "error") reject(new Error(answer.message));
      else resolve(answer);
    });
    if (message !== undefined) child.send(message as object);
  });
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? NaN;

type Figures = { p50: number; p99: number; perSecond: number; cpuPerCall: number };
function figures(result: CallsResult): Omit<Figures, "cpuPerCall"> {
  const sorted = [...result.latenciesMs].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    perSecond: result.latenciesMs.length / (result.wallMs / 1000),
  };
}

const ms = (value: number) => value.toFixed(2).padStart(7);
const rate = (value: number) => Math.round(value).toString().padStart(8);
const cpu = (micros: number) => (Number.isNaN(micros) ? "-" : Math.round(micros).toString()).padStart(7);

/** A fresh MCP session on the SDK upstream, shared by the three paths (the gateway passes its id). */
async function sdkSession(url: string) {
  const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
  const init = await fetch(url, {
    method: "POST",
    headers,
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 0,
      method: "initialize",
      params: {
        protocolVersion: "2025-06-18",
        capabilities: {},
        clientInfo: { name: "bench", version: "1" },
      },
    }),
  });
  const sessionId = init.headers.get("mcp-session-id");
  await init.text();
  if (!init.ok || !sessionId) throw new Error(`initialize answered ${init.status}`);
  const session = { ...headers, "mcp-session-id": sessionId, "mcp-protocol-version": "2025-06-18" };
  await (
    await fetch(url, {
      method: "POST",
      headers: session,
      body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }),
    })
  ).text();
  return session;
}

async function main() {
  const started = performance.now();
  // Inside the project, so that the bundle finds its packages in node_modules.
  const { buildNode } = await import("../../bundle.config");
  const bundle = await buildNode(fileURLToPath(import.meta.url), path.resolve("dist/bench/gateway.mjs"));
  const upstreamProcess = spawn(bundle, "upstream");
  // Each server in a process of its own, as the gateway runs in production: what one path runs does
  // not shape how the runtime compiles another's.
  const proxyProcess = spawn(bundle, "proxy");
  const productProcess = spawn(bundle, "product");
  const handlersProcess = spawn(bundle, "handlers");
  const clientProcess = spawn(bundle, "client");
  const dataDirs: string[] = [];
  try {
    const upstream = await ask<UpstreamReady>(upstreamProcess);
    const serve: ServerRequest = { kind: "serve", plainUrl: upstream.plainUrl, sdkUrl: upstream.sdkUrl };
    const proxy = await ask<ProxyReady>(proxyProcess, serve);
    const product = await ask<ProductReady>(productProcess, serve);
    const handlers = await ask<HandlersReady>(handlersProcess, serve);
    dataDirs.push(product.dataDir, handlers.dataDir);
    const { plain: plainCredential, sdk: sdkCredential } = product.credentials;
    const plainHeaders = {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    };
    const sdkHeaders = await sdkSession(upstream.sdkUrl);
    const withCredential = (headers: Record<string, string>, credential: string) => ({
      ...headers,
      authorization: `Bearer ${credential}`,
    });
    const echo = JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "echo", arguments: { text: "hello from the bench" } },
    });

    const suites = [
      {
        title: "plain JSON upstream (node:http)",
        paths: [
          { name: "direct", target: { url: upstream.plainUrl, headers: plainHeaders }, server: null },
          {
            name: "minimal proxy",
            target: { url: proxy.plain, headers: plainHeaders },
            server: proxyProcess,
          },
          {
            name: "gateway",
            target: { url: product.gateway.plain, headers: withCredential(plainHeaders, plainCredential) },
            server: productProcess,
          },
          {
            name: "handler floor",
            target: { url: handlers.handlerProxy, headers: plainHeaders },
            server: handlersProcess,
          },
          {
            name: "gateway (fetch)",
            target: {
              url: handlers.fetchGateway,
              headers: withCredential(plainHeaders, handlers.credential),
            },
            server: handlersProcess,
          },
        ],
      },
      {
        title: "MCP SDK upstream (streamable HTTP, one session, SSE answers)",
        paths: [
          { name: "direct", target: { url: upstream.sdkUrl, headers: sdkHeaders }, server: null },
          { name: "minimal proxy", target: { url: proxy.sdk, headers: sdkHeaders }, server: proxyProcess },
          {
            name: "gateway",
            target: { url: product.gateway.sdk, headers: withCredential(sdkHeaders, sdkCredential) },
            server: productProcess,
          },
        ],
      },
    ];

    console.log(
      `Gateway benchmark: tools/call echo, ${CALLS} calls per run after ${WARMUP} warm-up calls ` +
        `(and ${WARMUP_ROUND} per path before the first run); ` +
        `Node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model.trim()}), ` +
        `load average ${loadavg()[0]?.toFixed(1)} at the start`,
    );
    console.log(
      "CPU µs: what the process serving the path spent per call (user + system); each server has a process of its own",
    );
    const serverCpu = async (server: ChildProcess | null) => {
      if (!server) return NaN;
      const usage = await ask<CpuUsage>(server, { kind: "cpu" });
      return usage.user + usage.system;
    };
    const verdicts: string[] = [];
    for (const suite of suites) {
      console.log(`\n${suite.title}`);
      console.log(`${"path".padEnd(15)}| ${"1 at a time".padEnd(34)}| ${CONCURRENCY} at a time`);
      const columns = "p50 ms  p99 ms  calls/s  CPU µs";
      console.log(`${"".padEnd(15)}| ${columns} | ${columns}`);
      // The paths take turns, round after round: a shared machine drifts, and each round compares
      // the gateway with the proxy under the same conditions. Each figure is the median of the rounds.
      for (const { target } of suite.paths) {
        await ask<CallsResult>(clientProcess, {
          kind: "calls",
          target,
          body: echo,
          count: WARMUP_ROUND,
          concurrency: CONCURRENCY,
        } satisfies CallsRequest);
      }
      const rounds: Array<Record<string, { one: Figures; many: Figures }>> = [];
      for (let round = 0; round < ROUNDS; round++) {
        const rows: Record<string, { one: Figures; many: Figures }> = {};
        for (const { name, target, server } of suite.paths) {
          const run = async (concurrency: number): Promise<Figures> => {
            const cpuBefore = await serverCpu(server);
            const result = await ask<CallsResult>(clientProcess, {
              kind: "calls",
              target,
              body: echo,
              count: CALLS,
              concurrency,
            } satisfies CallsRequest).catch((error: Error) => {
              throw new Error(`${suite.title}, ${name}, ${concurrency} at a time: ${error.message}`);
            });
            const cpuPerCall = ((await serverCpu(server)) - cpuBefore) / (WARMUP + CALLS);
            return { ...figures(result), cpuPerCall };
          };
          rows[name] = { one: await run(1), many: await run(CONCURRENCY) };
        }
        rounds.push(rows);
      }
      const medianOf = (values: number[]) =>
        percentile(
          [...values].sort((a, b) => a - b),
          0.5,
        );
      const medianFigures = (pick: (round: Record<string, { one: Figures; many: Figures }>) => Figures) => ({
        p50: medianOf(rounds.map((round) => pick(round).p50)),
        p99: medianOf(rounds.map((round) => pick(round).p99)),
        perSecond: medianOf(rounds.map((round) => pick(round).perSecond)),
        cpuPerCall: medianOf(rounds.map((round) => pick(round).cpuPerCall)),
      });
      const cells = (f: Figures) => `${ms(f.p50)} ${ms(f.p99)} ${rate(f.perSecond)} ${cpu(f.cpuPerCall)}`;
      for (const { name } of suite.paths) {
        const one = medianFigures((round) => round[name]!.one);
        const many = medianFigures((round) => round[name]!.many);
        console.log(`${name.padEnd(15)}|${cells(one)}  |${cells(many)}`);
      }
      const added = medianOf(rounds.map((round) => round.gateway!.one.p50 - round["minimal proxy"]!.one.p50));
      const ratio = medianOf(
        rounds.map((round) => round.gateway!.many.perSecond / round["minimal proxy"]!.many.perSecond),
      );
      const cpuRatio = medianOf(
        rounds.map((round) => round.gateway!.many.cpuPerCall / round["minimal proxy"]!.many.cpuPerCall),
      );
      console.log(
        `gateway over the minimal proxy: +${added.toFixed(2)} ms at p50 1 at a time (aim ≤ ${aims.addedP50Ms}), ` +
          `${ratio.toFixed(2)} of its throughput at ${CONCURRENCY} (aim ≥ ${aims.throughputRatio}), ` +
          `${cpuRatio.toFixed(1)}× its CPU per call (medians of ${ROUNDS} rounds)`,
      );
      verdicts.push(
        `${suite.title}: added p50 ${added <= aims.addedP50Ms ? "met" : "missed"}, throughput ratio ${ratio >= aims.throughputRatio ? "met" : "missed"}`,
      );
    }

    const ticker = JSON.stringify({
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: { name: "ticker", arguments: { count: EVENTS } },
    });
    console.log(
      `\nSSE: ${EVENTS} progress events, one every ${EVENT_INTERVAL_MS} ms, upstream write to client read`,
    );
    console.log(`${"path".padEnd(15)}|  p50 ms  p99 ms  max ms`);
    let gatewayP99 = NaN;
    for (const { name, target } of suites[0]!.paths.filter(
      (path) => path.name !== "handler floor" && path.name !== "gateway (fetch)",
    )) {
      const { delaysMs } = await ask<EventsResult>(clientProcess, { kind: "events", target, body: ticker });
      if (delaysMs.length !== EVENTS)
        throw new Error(`${name}: ${delaysMs.length} of ${EVENTS} events arrived`);
      const sorted = [...delaysMs].sort((a, b) => a - b);
      console.log(
        `${name.padEnd(15)}|${ms(percentile(sorted, 0.5))} ${ms(percentile(sorted, 0.99))} ${ms(sorted.at(-1) ?? NaN)}`,
      );
      if (name === "gateway") gatewayP99 = percentile(sorted, 0.99);
    }
    verdicts.push(
      `SSE events through the gateway within ${aims.eventDelayMs} ms at p99: ${gatewayP99 <= aims.eventDelayMs ? "met" : "missed"}`,
    );

    console.log(`\n${verdicts.join("\n")}`);
    console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
  } finally {
    for (const child of roles.keys()) child.kill();
    for (const dataDir of dataDirs) rmSync(dataDir, { recursive: true, force: true });
  }
}

if (role === "upstream") await runUpstream();
else if (role === "proxy") process.once("message", (message: ServerRequest) => void runProxy(message));
else if (role === "product") process.once("message", (message: ServerRequest) => void runProduct(message));
else if (role === "handlers") process.once("message", (message: ServerRequest) => void runHandlers(message));
else if (role === "client") runClient();
else await main();
