import { randomUUID } from "node:crypto";
import {
  createServer,
  type Server as HttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { SSEServerTransport } from "@modelcontextprotocol/sdk/server/sse.js";
import {
  type EventId,
  type EventStore,
  StreamableHTTPServerTransport,
  type StreamId,
} from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import {
  CallToolRequestSchema,
  ErrorCode,
  isInitializeRequest,
  type JSONRPCMessage,
  ListToolsRequestSchema,
  McpError,
  type Tool,
} from "@modelcontextprotocol/sdk/types.js";

/** The body of an MCP `initialize` request, as a client such as Dify opens a session with. */
export const initializeRequest = (clientName = "Dify") =>
  JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: clientName, version: "1.0.0" },
    },
  });

export type RecordedRequest = {
  method: string;
  /** Path without the query string. */
  path: string;
  /** The query string, with its "?", or "". */
  search: string;
  /** Header names lowercased; repeated headers joined with ", ". */
  headers: Record<string, string>;
  bodyBytes: number;
};

export type McpUpstreamOptions = {
  name?: string;
  version?: string;
  /** Extra generated tools, named tool_001, tool_002, ... */
  toolCount?: number;
  /** Lists no tools at all, not even the fixed ones. */
  noTools?: boolean;
  /** The generated tools' descriptions (default "Generated tool number N."). */
  describeTool?: (index: number) => string;
  /** Makes tools/list paginate with nextCursor. */
  pageSize?: number;
  /** Every request without this header value is answered 401 {"error":"invalid api key"}. */
  requireHeader?: { name: string; value: string };
  /** How long an idle client connection is kept open (node:http's default is 5 s). */
  keepAliveTimeoutMs?: number;
};

export type McpUpstream = {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  /** Streamable HTTP endpoint. */
  mcpUrl: string;
  /** SSE endpoint (its POST endpoint is /messages). */
  sseUrl: string;
  requests: RecordedRequest[];
  /** Lets `count` waiting steps of the `slow` tool proceed (credits are kept if nobody waits yet). */
  release(count?: number): void;
  /** Resolves once a `slow` call is parked waiting for release(). */
  slowWaiting(): Promise<void>;
  /** Number of MCP sessions open on either transport. */
  openSessions(): number;
  /** Resolves once no MCP session is open on either transport. */
  sessionsClosed(): Promise<void>;
  close(): Promise<void>;
};

/** A tiny resumable event store, one per streamable HTTP session (the SDK's own lives in its examples). */
export class MemoryEventStore implements EventStore {
  readonly #events = new Map<EventId, { streamId: StreamId; message: JSONRPCMessage }>();
  #sequence = 0;

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    const eventId = `evt_${++this.#sequence}`;
    this.#events.set(eventId, { streamId, message });
    return eventId;
  }

  async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    return this.#events.get(eventId)?.streamId;
  }

  async replayEventsAfter(
    lastEventId: EventId,
    { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> },
  ): Promise<StreamId> {
    const last = this.#events.get(lastEventId);
    if (!last) return "";
    let after = false;
    // Map iteration follows insertion order, which is the order events were sent in.
    for (const [eventId, event] of this.#events) {
      if (eventId === lastEventId) after = true;
      else if (after && event.streamId === last.streamId) await send(eventId, event.message);
    }
    return last.streamId;
  }
}

/** Counting gate: release() hands out credits, wait() consumes one or parks until one arrives. */
class Gate {
  #credits = 0;
  #waiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  #watchers: Array<() => void> = [];

  wait(signal: AbortSignal): Promise<void> {
    if (this.#credits > 0) {
      this.#credits--;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        resolve: () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        },
        reject,
      };
      const onAbort = () => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error("slow call cancelled"));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(waiter);
      for (const watcher of this.#watchers.splice(0)) watcher();
    });
  }

  release(count: number) {
    for (let i = 0; i < count; i++) {
      const waiter = this.#waiters.shift();
      if (waiter) waiter.resolve();
      else this.#credits++;
    }
  }

  waiting(): Promise<void> {
    if (this.#waiters.length > 0) return Promise.resolve();
    return new Promise((resolve) => this.#watchers.push(resolve));
  }

  fail(error: Error) {
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
  }
}

const text = (value: string) => ({ content: [{ type: "text" as const, text: value }] });

const fixedTools: Tool[] = [
  {
    name: "echo",
    title: "Echo",
    description: "Returns its text argument.",
    inputSchema: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
    annotations: { readOnlyHint: true, openWorldHint: false },
    _meta: { "spacegate.test/kind": "fixture" },
  },
  {
    name: "add",
    description: "Adds two numbers.",
    inputSchema: {
      type: "object",
      properties: { a: { type: "number" }, b: { type: "number" } },
      required: ["a", "b"],
    },
    outputSchema: { type: "object", properties: { sum: { type: "number" } }, required: ["sum"] },
  },
  {
    name: "slow",
    description:
      "Sends `steps` progress notifications; each waits for the test to release it, or for `delayMs` when given. " +
      "With `closeStreamAfterStep` (streamable HTTP) it closes the response stream after that step, so the client " +
      "must resume with Last-Event-ID. With `holdResult` the result waits for one more release (or delay).",
    inputSchema: {
      type: "object",
      properties: {
        steps: { type: "integer", minimum: 0 },
        delayMs: { type: "integer", minimum: 0 },
        closeStreamAfterStep: { type: "integer", minimum: 1 },
        holdResult: { type: "boolean" },
      },
    },
  },
  {
    name: "headers",
    description: "Returns the HTTP headers the request carried, as JSON.",
    inputSchema: { type: "object", properties: {} },
  },
];

const generatedTools = (
  count: number,
  describe = (index: number) => `Generated tool number ${index + 1}.`,
): Tool[] =>
  Array.from({ length: count }, (_, index) => ({
    name: `tool_${String(index + 1).padStart(3, "0")}`,
    description: describe(index),
    inputSchema: { type: "object", properties: {} },
  }));

const delay = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(new Error("slow call cancelled"));
      },
      { once: true },
    );
  });

const readBody = async (req: IncomingMessage): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

const flatHeaders = (req: IncomingMessage): Record<string, string> =>
  Object.fromEntries(
    Object.entries(req.headers).flatMap(([name, value]) =>
      value === undefined ? [] : [[name, Array.isArray(value) ? value.join(", ") : value]],
    ),
  );

const sendJson = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
};

const jsonRpcError = (res: ServerResponse, status: number, code: number, message: string) =>
  sendJson(res, status, { jsonrpc: "2.0", error: { code, message }, id: null });

const listen = async (server: HttpServer): Promise<string> => {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
};

const shutDown = (server: HttpServer) =>
  new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });

/**
 * Starts a real MCP server on 127.0.0.1 serving streamable HTTP at /mcp (stateful, resumable) and SSE at
 * /sse + /messages, with the tools echo, add, slow, headers and `toolCount` generated ones.
 */
export async function startMcpUpstream(options: McpUpstreamOptions = {}): Promise<McpUpstream> {
  const tools = options.noTools
    ? []
    : [...fixedTools, ...generatedTools(options.toolCount ?? 0, options.describeTool)];
  const gate = new Gate();
  const requests: RecordedRequest[] = [];
  const streamable = new Map<string, StreamableHTTPServerTransport>();
  const sse = new Map<string, SSEServerTransport>();
  let sessionWatchers: Array<() => void> = [];
  const sessionEnded = () => {
    if (streamable.size + sse.size > 0) return;
    for (const watcher of sessionWatchers.splice(0)) watcher();
  };

  const createMcpServer = () => {
    const server = new Server(
      { name: options.name ?? "test-upstream", version: options.version ?? "1.0.0" },
      { capabilities: { tools: {} } },
    );
    server.setRequestHandler(ListToolsRequestSchema, (request) => {
      const pageSize = options.pageSize;
      if (!pageSize) return { tools };
      const cursor = request.params?.cursor;
      const start = cursor === undefined ? 0 : Number(cursor);
      if (!Number.isInteger(start) || start < 0 || start > tools.length)
        throw new McpError(ErrorCode.InvalidParams, `Invalid cursor: ${cursor}`);
      const end = start + pageSize;
      return { tools: tools.slice(start, end), ...(end < tools.length ? { nextCursor: String(end) } : {}) };
    });
    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      const args = request.params.arguments ?? {};
      switch (request.params.name) {
        case "echo":
          return text(String(args.text ?? ""));
        case "add": {
          const sum = Number(args.a) + Number(args.b);
          return { ...text(String(sum)), structuredContent: { sum } };
        }
        case "slow": {
          const steps = Number(args.steps ?? 3);
          const delayMs = args.delayMs === undefined ? undefined : Number(args.delayMs);
          const progressToken = extra._meta?.progressToken;
          const pause = () =>
            delayMs === undefined ? gate.wait(extra.signal) : delay(delayMs, extra.signal);
          for (let step = 1; step <= steps; step++) {
            await pause();
            if (progressToken !== undefined)
              await extra.sendNotification({
                method: "notifications/progress",
                params: { progressToken, progress: step, total: steps, message: `step ${step} of ${steps}` },
              });
            if (step === Number(args.closeStreamAfterStep)) extra.closeSSEStream?.();
          }
          // The SDK Client handles notifications a microtask late, so a last progress arriving in the same
          // chunk as the result is dropped; holding the result lets a test see every progress.
          if (args.holdResult === true) await pause();
          return text(`done after ${steps} steps`);
        }
        case "headers":
          return text(JSON.stringify(extra.requestInfo?.headers ?? {}));
        default:
          if (tools.some((tool) => tool.name === request.params.name)) return text(request.params.name);
          throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${request.params.name}`);
      }
    });
    return server;
  };

  const handleStreamable = async (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    let parsed: unknown;
    if (req.method === "POST") {
      try {
        parsed = JSON.parse(body.toString("utf8"));
      } catch {
        return jsonRpcError(res, 400, ErrorCode.ParseError, "Parse error: body is not JSON");
      }
    }
    const sessionId = req.headers["mcp-session-id"];
    if (typeof sessionId === "string") {
      const transport = streamable.get(sessionId);
      if (!transport) return jsonRpcError(res, 404, -32001, "Session not found");
      return transport.handleRequest(req, res, parsed);
    }
    if (req.method !== "POST" || !isInitializeRequest(parsed))
      return jsonRpcError(res, 400, ErrorCode.InvalidRequest, "Bad Request: no valid session id");
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      eventStore: new MemoryEventStore(),
      // Clients resume a cut stream after this many milliseconds instead of their default second.
      retryInterval: 10,
      onsessioninitialized: (id) => {
        streamable.set(id, transport);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) streamable.delete(transport.sessionId);
      sessionEnded();
    };
    await createMcpServer().connect(transport);
    await transport.handleRequest(req, res, parsed);
  };

  const handleSse = async (res: ServerResponse) => {
    const transport = new SSEServerTransport("/messages", res);
    sse.set(transport.sessionId, transport);
    transport.onclose = () => {
      sse.delete(transport.sessionId);
      sessionEnded();
    };
    await createMcpServer().connect(transport);
  };

  const handleMessages = async (req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer) => {
    const transport = sse.get(url.searchParams.get("sessionId") ?? "");
    if (!transport) return jsonRpcError(res, 404, -32001, "Session not found");
    await transport.handlePostMessage(req, res, body.toString("utf8"));
  };

  const http = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const body = await readBody(req);
      const headers = flatHeaders(req);
      requests.push({
        method: req.method ?? "",
        path: url.pathname,
        search: url.search,
        headers,
        bodyBytes: body.length,
      });
      const required = options.requireHeader;
      if (required && headers[required.name.toLowerCase()] !== required.value)
        return sendJson(res, 401, { error: "invalid api key" });
      if (url.pathname === "/mcp") return await handleStreamable(req, res, body);
      if (url.pathname === "/sse" && req.method === "GET") return await handleSse(res);
      if (url.pathname === "/messages" && req.method === "POST")
        return await handleMessages(req, res, url, body);
      res.writeHead(404, { "content-type": "text/plain" }).end("Not found");
    } catch (error) {
      if (!res.headersSent) sendJson(res, 500, { error: String(error) });
      else res.end();
    }
  });

  if (options.keepAliveTimeoutMs !== undefined) http.keepAliveTimeout = options.keepAliveTimeoutMs;
  const url = await listen(http);
  return {
    url,
    mcpUrl: `${url}/mcp`,
    sseUrl: `${url}/sse`,
    requests,
    release: (count = 1) => gate.release(count),
    slowWaiting: () => gate.waiting(),
    openSessions: () => streamable.size + sse.size,
    sessionsClosed: () =>
      streamable.size + sse.size === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => sessionWatchers.push(resolve)),
    close: async () => {
      gate.fail(new Error("upstream closed"));
      await Promise.allSettled(
        [...streamable.values(), ...sse.values()].map((transport) => transport.close()),
      );
      sessionWatchers = [];
      await shutDown(http);
    },
  };
}

export type HangingServer = {
  url: string;
  /** Requests received so far (none is ever answered). */
  requests: RecordedRequest[];
  /** Resolves once every connection a client opened has been closed (by the client). */
  connectionsClosed(): Promise<void>;
  close(): Promise<void>;
};

/** An HTTP server that accepts connections and requests and never answers. close() destroys its sockets. */
export async function startHangingServer(): Promise<HangingServer> {
  const sockets = new Set<Socket>();
  const requests: RecordedRequest[] = [];
  let watchers: Array<() => void> = [];
  const server = createServer((req) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    requests.push({
      method: req.method ?? "",
      path: url.pathname,
      search: url.search,
      headers: flatHeaders(req),
      bodyBytes: 0,
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => {
      sockets.delete(socket);
      if (sockets.size === 0) for (const watcher of watchers.splice(0)) watcher();
    });
  });
  const url = await listen(server);
  return {
    url,
    requests,
    connectionsClosed: () =>
      sockets.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => watchers.push(resolve)),
    close: async () => {
      watchers = [];
      for (const socket of sockets) socket.destroy();
      await shutDown(server);
    },
  };
}

export type StatusServer = {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
};

const guessContentType = (body: string) => {
  if (/^\s*</.test(body)) return "text/html; charset=utf-8";
  try {
    JSON.parse(body);
    return "application/json";
  } catch {
    return "text/plain; charset=utf-8";
  }
};

/** An HTTP server answering every request with `status` and `body` (content type guessed unless given). */
export async function startStatusServer(
  status: number,
  body: string,
  contentType?: string,
): Promise<StatusServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const received = await readBody(req);
    requests.push({
      method: req.method ?? "",
      path: url.pathname,
      search: url.search,
      headers: flatHeaders(req),
      bodyBytes: received.length,
    });
    res.writeHead(status, { "content-type": contentType ?? guessContentType(body) }).end(body);
  });
  const url = await listen(server);
  return { url, requests, close: () => shutDown(server) };
}
