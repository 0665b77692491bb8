import {
  Client as ModernClient,
  StreamableHTTPClientTransport as ModernTransport,
} from "@modelcontextprotocol/client";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { SSEClientTransport, SseError } from "@modelcontextprotocol/sdk/client/sse.js";
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { FetchLike, Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { ListToolsResultSchema, McpError } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { AppError } from "../errors";
import type { Transport as TransportName } from "../transport";

const JsonObject = z.record(z.string(), z.unknown());

export const ToolInfo = z.object({
  name: z.string(),
  title: z.string().optional(),
  description: z.string(),
  inputSchema: JsonObject,
  outputSchema: JsonObject.optional(),
  annotations: JsonObject.optional(),
  /** The tool's `_meta`. */
  meta: JsonObject.optional(),
});
export type ToolInfo = z.infer<typeof ToolInfo>;

export const ToolsSnapshot = z.object({
  tools: z.array(ToolInfo),
  serverName: z.string(),
  serverVersion: z.string(),
  protocolVersion: z.string(),
  fetchedAt: z.iso.datetime(),
});
export type ToolsSnapshot = z.infer<typeof ToolsSnapshot>;

export type UpstreamTransport = TransportName;

const MAX_PAGES = 100;
const MESSAGE_LIMIT = 300;
const BODY_SNIPPET_BYTES = 4096;

const CLIENT_INFO = { name: "spacegate", version: "0.1.0" };

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ENOTFOUND: "host name not found",
  EAI_AGAIN: "DNS lookup failed",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ETIMEDOUT: "connection timed out",
  EPIPE: "connection closed",
  UND_ERR_SOCKET: "connection closed by the server",
  UND_ERR_CONNECT_TIMEOUT: "connection timed out",
  UND_ERR_CLOSED: "connection closed",
  CERT_HAS_EXPIRED: "TLS certificate expired",
  DEPTH_ZERO_SELF_SIGNED_CERT: "self-signed TLS certificate",
  SELF_SIGNED_CERT_IN_CHAIN: "self-signed TLS certificate in chain",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "TLS certificate not trusted",
  ERR_TLS_CERT_ALTNAME_INVALID: "TLS certificate does not match the host name",
};

type ObservedResponse = { method: string; status: number; contentType: string; body?: string };

/** What the HTTP layer saw; the SDK's errors drop response bodies and (for SSE) network causes. */
type Observed = { responses: ObservedResponse[]; networkError?: unknown };

const MODERN_PROTOCOL = "2026-07-28";

/**
 * Connects to an MCP server with the SDK client, runs initialize and tools/list to the last page, and
 * closes again. Over streamable HTTP it first speaks 2026-07-28 (`server/discover`, with the v2
 * client), and falls back to the 2025 handshake when the server does not. Bounded by `timeoutMs` in
 * all; failures are AppErrors (422) with upstream_* codes.
 */
export async function discoverTools(
  upstream: { url: string; transport: UpstreamTransport },
  options: { headers: Record<string, string>; timeoutMs: number },
): Promise<ToolsSnapshot> {
  if (upstream.transport !== "streamable-http") return discoverLegacy(upstream, options);
  const started = Date.now();
  const modern = await discoverModern(upstream.url, options);
  if (modern.snapshot) return modern.snapshot;
  const timeout = () => timeoutError(new URL(upstream.url).origin, upstream.transport, options.timeoutMs);
  if (modern.timedOut) throw timeout();
  const timeoutMs = options.timeoutMs - (Date.now() - started);
  if (timeoutMs <= 0) throw timeout();
  try {
    return await discoverLegacy(upstream, { ...options, timeoutMs });
  } catch (error) {
    throw error instanceof AppError && error.code === "upstream_timeout" ? timeout() : error;
  }
}

/**
 * The tools of a server that speaks 2026-07-28, or why not: anything but a snapshot sends discovery
 * on to the 2025 handshake, which says what is wrong in its own words.
 */
async function discoverModern(
  url: string,
  options: { headers: Record<string, string>; timeoutMs: number },
): Promise<{ snapshot?: ToolsSnapshot; timedOut?: boolean }> {
  let target: URL;
  try {
    target = new URL(url);
    new Headers(options.headers);
  } catch {
    return {};
  }
  const stop = AbortSignal.timeout(options.timeoutMs);
  const fetchWithin: FetchLike = (input, init) =>
    fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, stop]) : stop });
  const transport = new ModernTransport(target, {
    requestInit: { headers: options.headers },
    fetch: fetchWithin,
  });
  const client = new ModernClient(CLIENT_INFO, {
    capabilities: {},
    // A server that leaves the probe unanswered has half the time left for the 2025 handshake.
    versionNegotiation: {
      mode: { pin: MODERN_PROTOCOL },
      probe: { timeoutMs: Math.ceil(options.timeoutMs / 2) },
    },
  });
  const requestOptions = { signal: stop, timeout: options.timeoutMs };
  try {
    await client.connect(transport, requestOptions);
    const tools: ToolInfo[] = [];
    const seenCursors = new Set<string>();
    let cursor: string | undefined;
    for (let page = 0; ; page++) {
      if (page >= MAX_PAGES) return {};
      const result = await client.request(
        { method: "tools/list", params: cursor === undefined ? {} : { cursor } },
        requestOptions,
      );
      for (const tool of result.tools) tools.push(toolInfo(tool));
      cursor = result.nextCursor;
      if (cursor === undefined) break;
      if (seenCursors.has(cursor)) return {};
      seenCursors.add(cursor);
    }
    const server = client.getServerVersion();
    return {
      snapshot: ToolsSnapshot.parse({
        tools,
        serverName: server?.name ?? "",
        serverVersion: server?.version ?? "",
        protocolVersion: client.getNegotiatedProtocolVersion() ?? MODERN_PROTOCOL,
        fetchedAt: new Date().toISOString(),
      }),
    };
  } catch {
    return { timedOut: stop.aborted };
  } finally {
    await client.close().catch(() => {});
  }
}

type ListedTool = {
  name: string;
  title?: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
  _meta?: Record<string, unknown>;
};

/** A listed tool as Dify stores it: description never null, `_meta` as `meta`. */
function toolInfo(tool: ListedTool): ToolInfo {
  return {
    name: tool.name,
    ...(tool.title === undefined ? {} : { title: tool.title }),
    description: tool.description ?? "",
    inputSchema: tool.inputSchema,
    ...(tool.outputSchema === undefined ? {} : { outputSchema: tool.outputSchema }),
    ...(tool.annotations === undefined ? {} : { annotations: tool.annotations }),
    ...(tool._meta === undefined ? {} : { meta: tool._meta }),
  };
}

/** Discovery over the 2025 handshake (`initialize`), on either transport. */
async function discoverLegacy(
  upstream: { url: string; transport: UpstreamTransport },
  options: { headers: Record<string, string>; timeoutMs: number },
): Promise<ToolsSnapshot> {
  let url: URL;
  try {
    url = new URL(upstream.url);
  } catch (cause) {
    throw new AppError(
      "upstream_unreachable",
      "The MCP server URL is not a valid URL. Give a full http(s) URL.",
      { cause },
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new AppError(
      "upstream_unreachable",
      `The MCP server URL must start with http:// or https://, not ${url.protocol}//.`,
    );

  try {
    new Headers(options.headers);
  } catch (cause) {
    throw new AppError(
      "invalid_headers",
      "A pass-through header has a name or value HTTP does not allow (for example a line break). Fix the headers.",
      { details: { names: Object.keys(options.headers) }, cause },
    );
  }

  const stop = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    stop.abort();
  }, options.timeoutMs);

  const observed: Observed = { responses: [] };
  const fetch = observingFetch(stop.signal, observed);
  const requestInit: RequestInit = { headers: options.headers };
  const transport =
    upstream.transport === "sse"
      ? new SSEClientTransport(url, { requestInit, fetch, eventSourceInit: { fetch } })
      : new StreamableHTTPClientTransport(url, { requestInit, fetch });

  // The Client keeps the negotiated version to itself; it hands it to the transport, so catch it there.
  let protocolVersion = "";
  const setProtocolVersion = transport.setProtocolVersion.bind(transport);
  transport.setProtocolVersion = (version: string) => {
    protocolVersion = version;
    setProtocolVersion(version);
  };

  let fail: (error: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  failed.catch(() => {});
  stop.signal.addEventListener("abort", () => fail(stop.signal.reason), { once: true });

  const client = new Client(CLIENT_INFO, { capabilities: {} });
  // A lost SSE stream or an unparsable message would otherwise leave the pending request waiting.
  client.onerror = (error) => {
    if (isFatalTransportError(error)) fail(error);
  };

  const requestOptions = { signal: stop.signal, timeout: options.timeoutMs };
  try {
    const snapshot = await Promise.race([
      collect(client, transport, requestOptions).then((tools) => {
        const server = client.getServerVersion();
        return ToolsSnapshot.parse({
          tools,
          serverName: server?.name ?? "",
          serverVersion: server?.version ?? "",
          protocolVersion,
          fetchedAt: new Date().toISOString(),
        });
      }),
      failed,
    ]);
    if (transport instanceof StreamableHTTPClientTransport)
      await Promise.race([transport.terminateSession(), failed]).catch(() => {});
    return snapshot;
  } catch (error) {
    throw toAppError(error, { url, transport: upstream.transport, observed, timedOut, options });
  } finally {
    clearTimeout(timer);
    await client.close().catch(() => {});
    await transport.close().catch(() => {});
    stop.abort();
  }
}

async function collect(
  client: Client,
  transport: Transport,
  requestOptions: { signal: AbortSignal; timeout: number },
): Promise<ToolInfo[]> {
  await client.connect(transport, requestOptions);
  const tools: ToolInfo[] = [];
  const seenCursors = new Set<string>();
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    // Not client.listTools(): it compiles every output schema, and one odd schema must not fail discovery.
    const result = await client.request(
      { method: "tools/list", params: cursor === undefined ? {} : { cursor } },
      ListToolsResultSchema,
      requestOptions,
    );
    for (const tool of result.tools) tools.push(toolInfo(tool));
    cursor = result.nextCursor;
    if (cursor === undefined) return tools;
    if (seenCursors.has(cursor)) throw new PagingError("tools/list returned the same cursor twice");
    seenCursors.add(cursor);
  }
  throw new PagingError(`tools/list did not end after ${MAX_PAGES} pages`);
}

class PagingError extends Error {}

/** fetch bound to the discovery's deadline, remembering statuses, error bodies and network failures. */
function observingFetch(stop: AbortSignal, observed: Observed): FetchLike {
  return async (input, init) => {
    const signal = init?.signal ? AbortSignal.any([init.signal, stop]) : stop;
    let response: Response;
    try {
      response = await fetch(input, { ...init, signal });
    } catch (error) {
      if (!signal.aborted) observed.networkError ??= error;
      throw error;
    }
    const entry: ObservedResponse = {
      method: init?.method ?? "GET",
      status: response.status,
      contentType: response.headers.get("content-type") ?? "",
    };
    observed.responses.push(entry);
    if (response.status < 400) return response;
    entry.body = await readSnippet(response);
    return new Response(entry.body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

async function readSnippet(response: Response): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < BODY_SNIPPET_BYTES) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // A body cut short still tells us the status; the snippet is best effort.
  } finally {
    reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).subarray(0, BODY_SNIPPET_BYTES).toString("utf8");
}

function isFatalTransportError(error: unknown): boolean {
  return error instanceof SseError || error instanceof SyntaxError || isZodError(error);
}

const isZodError = (error: unknown) =>
  error instanceof Error &&
  (error.name === "ZodError" || Array.isArray((error as { issues?: unknown }).issues));

function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current = error;
  while (current !== undefined && current !== null && chain.length < 10 && !chain.includes(current)) {
    chain.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return chain;
}

function networkCode(error: unknown): string | undefined {
  for (const link of causes(error)) {
    const code = (link as { code?: unknown }).code;
    if (typeof code === "string" && code in NETWORK_CODES) return code;
  }
  // Happy eyeballs gives an AggregateError with one error per address tried.
  for (const link of causes(error)) {
    const errors = (link as { errors?: unknown }).errors;
    if (!Array.isArray(errors)) continue;
    for (const inner of errors) {
      const code = networkCode(inner);
      if (code) return code;
    }
  }
  return undefined;
}

function httpStatus(error: unknown): number | undefined {
  for (const link of causes(error)) {
    if (link instanceof StreamableHTTPError || link instanceof SseError) {
      if (link.code !== undefined && link.code >= 300) return link.code;
    }
    // The SSE transport's POST failures are plain Errors: "Error POSTing to endpoint (HTTP 401): …"
    const match = link instanceof Error ? /\(HTTP (\d{3})\)/.exec(link.message) : null;
    if (match) return Number(match[1]);
  }
  return undefined;
}

type Context = {
  url: URL;
  transport: UpstreamTransport;
  observed: Observed;
  timedOut: boolean;
  options: { headers: Record<string, string>; timeoutMs: number };
};

function toAppError(error: unknown, context: Context): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof PagingError)
    return new AppError(
      "upstream_protocol_error",
      `The server at ${context.url.origin} paginates tools/list without end (${error.message}).`,
      { details: { upstream: context.url.origin, transport: context.transport }, cause: error },
    );
  const { url, transport, observed, options } = context;
  const origin = url.origin;
  const transportName = transport === "sse" ? "SSE" : "streamable HTTP";
  const details = (extra: Record<string, unknown> = {}) => ({ upstream: origin, transport, ...extra });
  const clean = (text: string) => redact(text, options.headers);

  if (context.timedOut) return timeoutError(origin, transport, options.timeoutMs, error);

  const code = networkCode(observed.networkError) ?? networkCode(error);
  if (code || observed.networkError || (error instanceof SseError && error.code === undefined))
    return new AppError(
      "upstream_unreachable",
      `Could not reach the MCP server at ${origin}${code ? ` (${NETWORK_CODES[code]})` : ""}. Check the URL and that the server is running and reachable from Spacegate.`,
      { details: details(code ? { cause: code } : {}), cause: error },
    );

  const status = httpStatus(error);
  const response =
    status === undefined
      ? undefined
      : observed.responses.findLast((entry) => entry.status === status && entry.body !== undefined);
  const said =
    response?.body === undefined ? undefined : upstreamMessage(clean(response.body), response.contentType);
  const quoted = said ? `: "${said}"` : "";

  if (error instanceof UnauthorizedError)
    return authFailed(origin, 401, quoted, details({ status: 401 }), error);
  if (status === 401 || status === 403) return authFailed(origin, status, quoted, details({ status }), error);

  if (status !== undefined) {
    const hint =
      status >= 500
        ? "The server failed; check its logs and try again."
        : `Check the URL path and that the server speaks ${transportName}.`;
    return protocolError(`answered HTTP ${status}${quoted}. ${hint}`, details({ status }), error);
  }

  const unexpected = observed.responses.findLast((entry) => entry.status < 300 && !isMcpContentType(entry));
  if (
    (error instanceof StreamableHTTPError && error.code === -1) ||
    (error instanceof SseError && unexpected)
  )
    return protocolError(
      `answered with content type ${unexpected?.contentType || "(none)"} instead of MCP. Check the URL path and that the server speaks ${transportName}.`,
      details({ contentType: unexpected?.contentType ?? "" }),
      error,
    );

  if (error instanceof McpError)
    return protocolError(
      `answered with a JSON-RPC error: ${trim(clean(error.message))}. Check that the URL points at an MCP server.`,
      details({ rpcCode: error.code }),
      error,
    );

  const reason =
    error instanceof SyntaxError ? "a response that is not JSON" : "a response that is not valid MCP";
  return protocolError(
    `sent ${reason}. Check the URL path and that the server speaks ${transportName}.`,
    details(),
    error,
  );

  function protocolError(what: string, extra: Record<string, unknown>, cause: unknown) {
    return new AppError("upstream_protocol_error", `The server at ${origin} ${what}`, {
      details: extra,
      cause,
    });
  }
}

function timeoutError(origin: string, transport: UpstreamTransport, timeoutMs: number, cause?: unknown) {
  return new AppError(
    "upstream_timeout",
    `The MCP server at ${origin} did not answer within ${formatSeconds(timeoutMs)}. Check that it is running and responsive, then try again.`,
    { details: { upstream: origin, transport, timeoutMs }, cause },
  );
}

function authFailed(origin: string, status: number, quoted: string, details: unknown, cause: unknown) {
  return new AppError(
    "upstream_auth_failed",
    `The MCP server at ${origin} refused the request (HTTP ${status}${quoted}). Check the pass-through headers, for example the upstream's API key.`,
    { details, cause },
  );
}

const isMcpContentType = (entry: ObservedResponse) =>
  /^(application\/json|text\/event-stream)\b/i.test(entry.contentType.trim());

/** The upstream's own words from an error body: JSON {error|message} (JSON-RPC too) or short plain text. */
function upstreamMessage(body: string, contentType: string): string | undefined {
  const text = body.trim();
  if (!text) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    const pick = (value: unknown, depth = 0): string | undefined => {
      if (typeof value === "string") return value.trim() || undefined;
      if (depth > 2 || typeof value !== "object" || value === null) return undefined;
      const record = value as Record<string, unknown>;
      return (
        pick(record.error, depth + 1) ??
        pick(record.message, depth + 1) ??
        pick(record.error_description, depth + 1) ??
        pick(record.detail, depth + 1)
      );
    };
    return trim(pick(parsed) ?? "") || undefined;
  } catch {
    if (/html/i.test(contentType) || /^<(!doctype|html)/i.test(text)) return undefined;
    return trim(text.replace(/\s+/g, " "));
  }
}

function trim(text: string): string {
  return text.length > MESSAGE_LIMIT ? `${text.slice(0, MESSAGE_LIMIT - 1)}…` : text;
}

const AUTH_SCHEMES = new Set(["bearer", "basic", "token", "digest", "apikey"]);

/** Upstream text may echo what we sent; our header values (and the words of each) never appear in an error. */
function redact(text: string, headers: Record<string, string>): string {
  const secrets = new Set<string>();
  for (const value of Object.values(headers)) {
    const trimmed = value.trim();
    if (trimmed.length >= 3) secrets.add(trimmed);
    for (const word of trimmed.split(/\s+/))
      if (word.length >= 4 && !AUTH_SCHEMES.has(word.toLowerCase())) secrets.add(word);
  }
  let result = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length))
    result = result.split(secret).join("[redacted]");
  return result;
}

const formatSeconds = (ms: number) => (ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`);
