import { hash, randomUUID, timingSafeEqual } from "node:crypto";
import type { OutgoingHttpHeaders } from "node:http";
import { Readable } from "node:stream";
import { AppError } from "../core/errors";
import { createBoundedMap, createTtlCache } from "./cache";
import { clientResponseHeaders, headerValue, type IncomingHeaders, upstreamRequestHeaders } from "./headers";
import {
  type Abortable,
  AbortSwitch,
  readAll,
  requestUpstream,
  type UpstreamClient,
  type UpstreamResponse,
} from "./upstream";

export interface GatewayGrant {
  instanceId: string;
  platformId: string;
  spaceId: string;
  /** Lowercase hex sha256 of the credential, as stored. */
  tokenHash: string;
  enabled: boolean;
  /** ISO timestamp, or null for no expiry. */
  expiresAt: string | null;
  /** The space's pass-through headers, decrypted. */
  headers: Record<string, string>;
}

export interface GatewayInstance {
  id: string;
  enabled: boolean;
  /** url is the full MCP endpoint: http://host/mcp (streamable HTTP) or http://host/sse (SSE). */
  upstream: { url: string; transport: "streamable-http" | "sse" };
  /** The instance's default pass-through headers, decrypted. */
  headers: Record<string, string>;
  /** Seconds. */
  timeouts: { timeout: number; sseReadTimeout: number };
  /** Allow GET /mcp (the server-to-client stream) on Lambda. */
  streamGet: boolean;
}

export interface GatewayResolver {
  grantByTokenHash(tokenHash: string): Promise<GatewayGrant | null>;
  instance(instanceId: string): Promise<GatewayInstance | null>;
}

export interface UsageSink {
  record(
    grant: { instanceId: string; platformId: string; spaceId: string },
    outcome: { error: boolean },
  ): void;
}

export interface GatewayTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Starts a timeout's countdown over, whether or not it has fired. */
  refresh(handle: unknown): void;
}

export interface GatewayOptions {
  resolver: GatewayResolver;
  mode: "local" | "lambda";
  /** Clock for the lookup cache and credential expiry. */
  now?: () => number;
  /** How long a lookup (a miss included) is reused: the bound for disable, rotate and delete. */
  cacheTtlMs?: number;
  keepaliveMs?: number;
  /** Drives upstream timeouts, idle stream ends and keepalives. */
  timers?: GatewayTimers;
  usage?: UsageSink;
  /** Structured log lines. Never given a credential or a header value. */
  log?: (entry: Record<string, unknown>) => void;
  /** Also log each completed call (at level "debug"); refused and failed ones are always logged. */
  logCompleted?: boolean;
  maxBodyBytes?: number;
  /** How requests reach the upstream: node:http by default, undici's pools on a long-running host. */
  upstream?: UpstreamClient;
}

/** A call as its host received it: node:http, a Lambda event or a web Request, each mapped to this. */
export interface GatewayRequest {
  method: string;
  /** Path and query, as on the request line: `/gateway/ins_1/mcp?x=1`. */
  target: string;
  /** Lowercase names. */
  headers: IncomingHeaders;
  /** The scheme the client used, for X-Forwarded-Proto. */
  protocol: "http" | "https";
  /** Read only for POST. */
  body: Uint8Array | Readable | AsyncIterable<Uint8Array> | null;
  clientIp?: string;
  /** Aborts when the client goes away. */
  signal: Abortable;
  requestId?: string;
}

/** What to send back: a small or already complete answer whole, anything else as a stream. */
export interface GatewayAnswer {
  status: number;
  statusText?: string;
  /** Lowercase names; set-cookie as a list. */
  headers: OutgoingHttpHeaders;
  /** A stream ends the call when it ends; destroying it (the client went away) aborts the upstream. */
  body: Uint8Array | Readable | null;
}

export type Gateway = (request: GatewayRequest) => Promise<GatewayAnswer>;

type Leaf = "mcp" | "sse" | "messages";
type Outcome = "completed" | "client_closed" | "idle_timeout" | "upstream_error";

const allowedMethods: Record<Leaf, string[]> = {
  mcp: ["POST", "GET", "DELETE"],
  sse: ["GET"],
  messages: ["POST"],
};

const routePattern = /^\/gateway\/([A-Za-z0-9_-]{1,128})\/(mcp|sse|messages)$/;
const credentialPattern = /^sg_[A-Za-z0-9_-]{16,256}$/;
const bearerPattern = /^Bearer[ \t]+(\S+)[ \t]*$/i;
const credentialQuery = "sg_token";
const realm = 'Bearer realm="spacegate"';
const encoder = new TextEncoder();
const keepaliveComment = encoder.encode(": keepalive\n\n");
const noop = () => {};

export const defaultMaxBodyBytes = 8 * 1024 * 1024;
const wholeBodyBytes = 64 * 1024;

const sha256Hex = (text: string) => hash("sha256", text, "hex");

function sameHash(storedHex: string, computedHex: string) {
  const stored = Buffer.from(storedHex.toLowerCase(), "latin1");
  const computed = Buffer.from(computedHex, "latin1");
  return stored.length === computed.length && timingSafeEqual(stored, computed);
}

/** The first well-formed credential of Authorization, X-API-Key and the query, and whether any was sent. */
function presentedCredential(
  headers: IncomingHeaders,
  query: string,
): { token: string | null; via: "header" | "query"; given: boolean } {
  const authorization = headerValue(headers, "authorization");
  const bearer = authorization ? bearerPattern.exec(authorization)?.[1] : undefined;
  if (bearer && credentialPattern.test(bearer)) return { token: bearer, via: "header", given: true };
  const apiKey = headerValue(headers, "x-api-key");
  const key = apiKey?.trim();
  if (key && credentialPattern.test(key)) return { token: key, via: "header", given: true };
  const fromQuery = query.includes(credentialQuery) ? new URLSearchParams(query).get(credentialQuery) : null;
  if (fromQuery && credentialPattern.test(fromQuery)) return { token: fromQuery, via: "query", given: true };
  return { token: null, via: "header", given: Boolean(authorization || apiKey || fromQuery) };
}

/** The client's query minus the credential, as the raw string when there was nothing to remove. */
function forwardedQuery(query: string): string {
  if (!query.includes(credentialQuery)) return query;
  const params = new URLSearchParams(query);
  if (!params.has(credentialQuery)) return query;
  params.delete(credentialQuery);
  return params.toString();
}

function withQuery(base: string, query: string): string {
  if (!query) return base;
  const target = new URL(base);
  target.search = target.search ? `${target.search.slice(1)}&${query}` : query;
  return target.href;
}

const sessionKey = (instanceId: string, query: string) => {
  const params = new URLSearchParams(query);
  params.delete(credentialQuery);
  params.sort();
  return `${instanceId}\n${params.toString()}`;
};

/** A refusal or failure as a JSON-RPC error body with its HTTP status. */
export function jsonRpcError(
  error: AppError,
  requestId: string,
  extraHeaders: Record<string, string> = {},
): GatewayAnswer {
  const body = {
    jsonrpc: "2.0",
    id: null,
    error: { code: -32000, message: error.message, data: { code: error.code, requestId } },
  };
  return {
    status: error.status,
    headers: { "content-type": "application/json", "x-request-id": requestId, ...extraHeaders },
    body: Buffer.from(JSON.stringify(body)),
  };
}

function contentLengthOf(headers: IncomingHeaders): number | null {
  const raw = headerValue(headers, "content-length")?.trim();
  if (raw === undefined || !/^\d+$/.test(raw)) return null;
  return Number(raw);
}

const isEventStream = (headers: IncomingHeaders) =>
  /^\s*text\/event-stream/i.test(headerValue(headers, "content-type") ?? "");

function isSmall(headers: IncomingHeaders) {
  const length = contentLengthOf(headers);
  return length !== null && length <= wholeBodyBytes;
}

/** A small body of known length, whole. */
function readWhole(body: NonNullable<GatewayRequest["body"]>): Promise<Uint8Array> {
  if (body instanceof Uint8Array) return Promise.resolve(body);
  if (body instanceof Readable) return readAll(body, () => new Error("the client closed the request body"));
  return (async () => {
    const chunks: Uint8Array[] = [];
    for await (const chunk of body) chunks.push(chunk);
    return Buffer.concat(chunks);
  })();
}

/** The body's chunks, failing once they add up to more than the limit. */
async function* limitBody(body: AsyncIterable<Uint8Array>, maxBytes: number, onExceeded: () => void) {
  let total = 0;
  for await (const chunk of body) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      onExceeded();
      throw new Error("request body too large");
    }
    yield chunk;
  }
}

const LF = 0x0a;
const CR = 0x0d;

/** Index just past the blank line that ends the first complete SSE event, or -1. */
function eventEnd(bytes: Uint8Array): number {
  let lineStart = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte !== LF && byte !== CR) continue;
    // A CR at the very end may be the first half of a CRLF: wait for the next byte.
    if (byte === CR && i === bytes.length - 1) return -1;
    const next = byte === CR && bytes[i + 1] === LF ? i + 2 : i + 1;
    if (i === lineStart) return next;
    lineStart = next;
    i = next - 1;
  }
  return -1;
}

/** Whether output ending with these bytes sits between SSE events (or nothing was sent yet). */
function atEventBoundary(tail: Uint8Array): boolean {
  let end = tail.length;
  if (end === 0) return true;
  if (tail[end - 1] === LF) end -= end >= 2 && tail[end - 2] === CR ? 2 : 1;
  else if (tail[end - 1] === CR) end -= 1;
  else return false;
  return end > 0 && (tail[end - 1] === LF || tail[end - 1] === CR);
}

function lastBytes(previous: Uint8Array, chunk: Uint8Array, count: number): Uint8Array {
  if (chunk.length >= count) return chunk.slice(chunk.length - count);
  const joined = new Uint8Array(previous.length + chunk.length);
  joined.set(previous);
  joined.set(chunk, previous.length);
  return joined.slice(Math.max(0, joined.length - count));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

function parseEvent(bytes: Uint8Array): { type: string; data: string } {
  let type = "message";
  const data: string[] = [];
  for (const line of new TextDecoder().decode(bytes).split(/\r\n|\r|\n/)) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") type = value;
    else if (field === "data") data.push(value);
  }
  return { type, data: data.join("\n") };
}

const maxPendingEventBytes = 1024 * 1024;

/**
 * Rewrites the data of the first `endpoint` event of an SSE stream; everything before it passes
 * event by event, everything after it byte for byte.
 */
function endpointRewriter(rewrite: (data: string) => string) {
  let pending: Uint8Array = new Uint8Array(0);
  let done = false;
  return {
    push(chunk: Uint8Array): Uint8Array[] {
      if (done) return [chunk];
      pending = concat(pending, chunk);
      const out: Uint8Array[] = [];
      for (let end = eventEnd(pending); end >= 0; end = eventEnd(pending)) {
        const event = pending.subarray(0, end);
        pending = pending.subarray(end);
        const parsed = parseEvent(event);
        if (parsed.type !== "endpoint") {
          out.push(event);
          continue;
        }
        out.push(encoder.encode(`event: endpoint\ndata: ${rewrite(parsed.data)}\n\n`));
        if (pending.length > 0) out.push(pending);
        pending = new Uint8Array(0);
        done = true;
        return out;
      }
      if (pending.length > maxPendingEventBytes)
        throw new Error("SSE event too large before the endpoint event");
      return out;
    },
  };
}

/**
 * The upstream's body as the client's: chunk by chunk as it arrives, keepalive comments between SSE
 * events after keepaliveMs of silence, and an end after idleMs without anything from the upstream.
 * Destroying it (the client went away) aborts the upstream.
 */
function relayBody(
  source: Readable,
  options: {
    eventStream: boolean;
    rewriter?: ReturnType<typeof endpointRewriter>;
    keepaliveMs: number;
    idleMs: number;
    timers: GatewayTimers;
    clientGone: () => boolean;
    abortUpstream: () => void;
    onEnd: (outcome: Outcome) => void;
  },
): Readable {
  const { timers } = options;
  let ended = false;
  let tail: Uint8Array = new Uint8Array(0);
  let keepaliveTimer: unknown;

  const end = (outcome: Outcome) => {
    if (ended) return false;
    ended = true;
    timers.clearTimeout(keepaliveTimer);
    timers.clearTimeout(idleTimer);
    options.onEnd(outcome);
    return true;
  };
  const out = new Readable({
    read: () => {
      if (!ended) source.resume();
    },
    destroy: (error, callback) => {
      if (end("client_closed")) {
        options.abortUpstream();
        source.destroy();
      }
      callback(error);
    },
  });
  const send = (chunk: Uint8Array) => {
    if (!out.push(chunk)) source.pause();
    if (!options.eventStream) return;
    tail = lastBytes(tail, chunk, 4);
    timers.refresh(keepaliveTimer);
  };
  if (options.eventStream) {
    keepaliveTimer = timers.setTimeout(() => {
      if (ended) return;
      if (atEventBoundary(tail)) send(keepaliveComment);
      else timers.refresh(keepaliveTimer);
    }, options.keepaliveMs);
  }
  const idleTimer = timers.setTimeout(() => {
    if (!end("idle_timeout")) return;
    out.push(null);
    source.destroy();
    options.abortUpstream();
  }, options.idleMs);
  const fail = (error: Error) => {
    if (!end(options.clientGone() ? "client_closed" : "upstream_error")) return;
    options.abortUpstream();
    out.destroy(error);
  };

  source.on("data", (chunk: Uint8Array) => {
    if (ended) return;
    timers.refresh(idleTimer);
    let chunks: Uint8Array[];
    try {
      chunks = options.rewriter ? options.rewriter.push(chunk) : [chunk];
    } catch (error) {
      fail(error as Error);
      return;
    }
    for (const piece of chunks) if (piece.byteLength > 0) send(piece);
  });
  source.once("end", () => {
    if (!end("completed")) return;
    out.push(null);
  });
  source.on("error", fail);
  source.once("close", () => {
    if (!source.readableEnded) fail(new Error("the upstream closed the connection mid-response"));
  });
  return out;
}

const defaultTimers: GatewayTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout> | undefined),
  refresh: (handle) => (handle as ReturnType<typeof setTimeout> | undefined)?.refresh(),
};

/**
 * The MCP gateway: authenticates the space's credential, then streams the request to the instance's
 * upstream and its answer back as they arrive (a small one of known length in one piece). Hosts map
 * their own request and response to it: node:http (`node.ts`), the streaming Lambda (`lambda.ts`)
 * and web Request/Response (`fetch.ts`).
 */
export function createGateway(options: GatewayOptions): Gateway {
  const now = options.now ?? Date.now;
  const timers = options.timers ?? defaultTimers;
  const keepaliveMs = options.keepaliveMs ?? 25_000;
  const maxBodyBytes = options.maxBodyBytes ?? defaultMaxBodyBytes;
  const log = options.log ?? noop;
  const sendUpstream = options.upstream ?? requestUpstream;
  const cacheTtlMs = options.cacheTtlMs ?? 5_000;
  const grants = createTtlCache<GatewayGrant | null>({ ttlMs: cacheTtlMs, now });
  const instances = createTtlCache<GatewayInstance | null>({ ttlMs: cacheTtlMs, now });
  // Where each SSE session's upstream wants its messages, and per instance the path last announced.
  const sessions = createBoundedMap<string>(10_000);
  const announced = createBoundedMap<string>(1_000);

  /**
   * The grant and instance a request may use, or why not. Nothing here touches the upstream, and the
   * instance is looked up only for a valid credential. Answers at once when both are cached.
   */
  function authorize(
    request: GatewayRequest,
    query: string,
    instanceId: string,
    leaf: Leaf,
  ): Authorization | Promise<Authorization> {
    const credential = presentedCredential(request.headers, query);
    if (!credential.token) {
      return credential.given
        ? refusal(401, "credential_invalid", "The gateway credential is malformed.", invalidTokenChallenge)
        : refusal(401, "credential_missing", "Send the gateway credential as Authorization: Bearer sg_….", {
            "www-authenticate": realm,
          });
    }
    const presented = { token: credential.token, via: credential.via };
    const tokenHash = sha256Hex(credential.token);
    const cachedGrant = grants.peek(tokenHash);
    const cachedInstance = instances.peek(instanceId);
    if (cachedGrant && cachedInstance) {
      const grant = cachedGrant.value;
      return (
        grantRefusal(grant, tokenHash, instanceId) ??
        access(request, leaf, instanceId, grant!, cachedInstance.value, presented)
      );
    }
    return (async () => {
      let grant: GatewayGrant | null;
      try {
        grant = await grants.get(tokenHash, () => options.resolver.grantByTokenHash(tokenHash));
      } catch (cause) {
        return { ...unavailable(), cause };
      }
      const refused = grantRefusal(grant, tokenHash, instanceId);
      if (refused) return refused;
      let instance: GatewayInstance | null;
      try {
        instance = await instances.get(instanceId, () => options.resolver.instance(instanceId));
      } catch (cause) {
        return { ...unavailable(), cause, grant: grant! };
      }
      return access(request, leaf, instanceId, grant!, instance, presented);
    })();
  }

  /** Why this grant may not be used for this instance at all, or null. */
  function grantRefusal(grant: GatewayGrant | null, tokenHash: string, instanceId: string): Refusal | null {
    if (!grant || !sameHash(grant.tokenHash, tokenHash)) {
      return refusal(
        401,
        "credential_invalid",
        "The gateway credential is not valid: it may have been rotated or revoked.",
        invalidTokenChallenge,
      );
    }
    if (grant.expiresAt !== null && Date.parse(grant.expiresAt) <= now()) {
      return refusal(401, "credential_expired", "The gateway credential has expired.", invalidTokenChallenge);
    }
    if (grant.instanceId !== instanceId) {
      return {
        ...refusal(403, "credential_wrong_instance", "This credential belongs to another MCP server."),
        spaceId: grant.spaceId,
      };
    }
    return null;
  }

  /** The valid grant's access to its instance through this route, or why not. */
  function access(
    request: GatewayRequest,
    leaf: Leaf,
    instanceId: string,
    grant: GatewayGrant,
    instance: GatewayInstance | null,
    credential: { token: string; via: "header" | "query" },
  ): Authorization {
    if (!instance)
      return { ...refusal(404, "instance_not_found", `MCP server ${instanceId} does not exist.`), grant };
    if (!grant.enabled)
      return {
        ...refusal(403, "access_disabled", "Access to this MCP server is disabled for this space."),
        grant,
      };
    if (!instance.enabled)
      return { ...refusal(403, "instance_disabled", "This MCP server is disabled."), grant };
    const sse = instance.upstream.transport === "sse";
    if (sse !== (leaf !== "mcp")) {
      const message = sse
        ? `This MCP server speaks SSE: use /gateway/${instanceId}/sse.`
        : `This MCP server speaks streamable HTTP: use /gateway/${instanceId}/mcp.`;
      return { ...refusal(404, "transport_mismatch", message), grant };
    }
    if (leaf === "mcp" && request.method === "GET" && options.mode === "lambda" && !instance.streamGet) {
      return {
        ...refusal(405, "method_not_allowed", "This gateway does not hold a standalone server stream open.", {
          allow: "POST, DELETE",
        }),
        grant,
      };
    }
    return { grant, instance, credential };
  }

  function upstreamTarget(leaf: Leaf, instance: GatewayInstance, clientQuery: string): string {
    const query = forwardedQuery(clientQuery);
    if (leaf !== "messages") return withQuery(instance.upstream.url, query);
    return (
      sessions.get(sessionKey(instance.id, query)) ??
      withQuery(announced.get(instance.id) ?? new URL("messages", instance.upstream.url).href, query)
    );
  }

  /** Remembers where the upstream wants this session's messages; answers the client's own endpoint. */
  function announceEndpoint(
    instance: GatewayInstance,
    data: string,
    credential: { token: string; via: string },
  ) {
    const endpoint = new URL(data.trim(), instance.upstream.url);
    const key = sessionKey(instance.id, endpoint.search.slice(1));
    sessions.set(key, endpoint.href);
    announced.set(instance.id, `${endpoint.origin}${endpoint.pathname}`);
    // Relative to the client's own /gateway/{id}/sse URL, so it also holds behind a stage prefix. A
    // client that could only put the credential in the URL needs it in the message URL as well.
    let clientEndpoint = `messages${endpoint.search}`;
    if (credential.via === "query") {
      const params = new URLSearchParams(endpoint.search);
      params.set(credentialQuery, credential.token);
      clientEndpoint = `messages?${params.toString()}`;
    }
    return { key, clientEndpoint };
  }

  /** One line for a call, built only when it will be written. */
  function logCall(call: Call, status: number, extra: Record<string, unknown>) {
    // A completed call below 400 is routine: a line per call only when asked for.
    const completed = status < 400 && extra.outcome === "completed";
    if (completed && !options.logCompleted) return;
    log({
      level: status >= 500 ? "error" : status >= 400 ? "warn" : completed ? "debug" : "info",
      msg: "gateway request",
      ...call.fields,
      status,
      durationMs: now() - call.started,
      ...extra,
    });
  }

  function refuse(call: Call, { error, headers, cause }: Refusal): GatewayAnswer {
    logCall(call, error.status, { code: error.code, ...(cause ? { cause: describe(cause) } : {}) });
    if (call.grant) options.usage?.record(call.grant, { error: error.status >= 500 });
    return jsonRpcError(error, call.requestId, headers);
  }

  /** A body to send upstream: a small one of known length whole, any other as it arrives. */
  function upstreamBody(request: GatewayRequest, declaredLength: number | null, onTooLarge: () => void) {
    const { body } = request;
    if (request.method !== "POST" || body === null) return null;
    if (declaredLength !== null && declaredLength <= wholeBodyBytes) return readWhole(body);
    if (body instanceof Uint8Array) {
      if (body.byteLength <= maxBodyBytes) return body;
      onTooLarge();
      return Promise.reject(new Error("request body too large"));
    }
    return limitBody(body, maxBodyBytes, onTooLarge);
  }

  return async function gateway(request) {
    const requestId = request.requestId ?? randomUUID();
    const queryAt = request.target.indexOf("?");
    const path = queryAt < 0 ? request.target : request.target.slice(0, queryAt);
    const query = queryAt < 0 ? "" : request.target.slice(queryAt + 1);
    const match = routePattern.exec(path);
    const call: Call = {
      started: now(),
      requestId,
      fields: { requestId, method: request.method, instanceId: match?.[1], route: match?.[2] },
    };

    if (!match) return refuse(call, refusal(404, "route_not_found", "No MCP endpoint at this path."));
    const instanceId = match[1]!;
    const leaf = match[2] as Leaf;
    if (!allowedMethods[leaf].includes(request.method)) {
      return refuse(
        call,
        refusal(405, "method_not_allowed", `${request.method} is not allowed on this MCP endpoint.`, {
          allow: allowedMethods[leaf].join(", "),
        }),
      );
    }
    const declaredLength = contentLengthOf(request.headers);
    if (declaredLength !== null && declaredLength > maxBodyBytes) return refuse(call, tooLarge(maxBodyBytes));

    const authorizing = authorize(request, query, instanceId, leaf);
    const authorization = authorizing instanceof Promise ? await authorizing : authorizing;
    if (authorization.grant) {
      call.grant = authorization.grant;
      call.fields.spaceId = authorization.grant.spaceId;
      call.fields.platformId = authorization.grant.platformId;
    } else if ("spaceId" in authorization) {
      call.fields.spaceId = authorization.spaceId;
    }
    if ("error" in authorization) return refuse(call, authorization);
    const { grant, instance, credential } = authorization;

    const { headers, rejected } = upstreamRequestHeaders(request.headers, {
      passThrough: [instance.headers, grant.headers],
      clientIp: request.clientIp,
      proto: request.protocol,
      requestId,
      contentLength: request.method === "POST" && declaredLength !== null ? String(declaredLength) : null,
    });
    if (rejected.length > 0) {
      log({ level: "warn", msg: "pass-through headers skipped", ...call.fields, headerNames: rejected });
    }

    // Stops the upstream request when the client goes away, the timeout passes or the body is too large.
    const upstreamAbort = new AbortSwitch();
    const clientSignal = request.signal;
    const unfollow = upstreamAbort.follow(clientSignal);
    let failure: "timeout" | "too_large" | null = null;
    const connectTimer = timers.setTimeout(
      () => {
        failure = "timeout";
        upstreamAbort.abort();
      },
      secondsToMs(instance.timeouts.timeout, 30),
    );

    let upstream: UpstreamResponse;
    let eventStream = false;
    let whole: Uint8Array | null = null;
    try {
      upstream = await sendUpstream(upstreamTarget(leaf, instance, query), {
        method: request.method,
        headers,
        body: await upstreamBody(request, declaredLength, () => {
          failure = "too_large";
        }),
        signal: upstreamAbort,
        wholeUpTo: wholeBodyBytes,
      });
      eventStream = isEventStream(upstream.headers);
      // An answer that has all arrived, or a small one of known length, goes to the client in one write.
      if (
        upstream.body &&
        leaf !== "sse" &&
        (upstream.body.complete || (!eventStream && isSmall(upstream.headers)))
      ) {
        whole = await upstream.body.bytes();
      }
    } catch (cause) {
      timers.clearTimeout(connectTimer);
      unfollow();
      const reason = failure as "timeout" | "too_large" | null;
      if (reason === "too_large") return refuse(call, tooLarge(maxBodyBytes));
      if (reason === "timeout") {
        return refuse(call, {
          ...refusal(504, "upstream_timeout", "The MCP server did not answer in time."),
          cause,
        });
      }
      if (clientSignal.aborted) return refuse(call, refusal(499, "client_closed", "The client went away."));
      return refuse(call, {
        ...refusal(502, "upstream_unreachable", "The MCP server could not be reached."),
        cause,
      });
    }
    timers.clearTimeout(connectTimer);

    if (upstream.status >= 300 && upstream.status < 400) {
      upstream.body?.cancel();
      unfollow();
      return refuse(
        call,
        refusal(
          502,
          "upstream_redirect",
          "The MCP server answered with a redirect: set the instance's upstream URL to its final address.",
        ),
      );
    }

    const status = upstream.status;
    const responseHeaders = clientResponseHeaders(upstream.headers, { streaming: eventStream });
    responseHeaders["x-request-id"] = requestId;
    if (eventStream) responseHeaders["x-accel-buffering"] = "no";

    if (whole !== null || upstream.body === null) {
      unfollow();
      logCall(call, status, { outcome: "completed" });
      options.usage?.record(grant, { error: status >= 500 });
      if (whole !== null && !("content-length" in responseHeaders)) {
        responseHeaders["content-length"] = String(whole.byteLength);
      }
      return { status, statusText: upstream.statusText, headers: responseHeaders, body: whole };
    }
    let sessionToForget: string | null = null;
    const rewriter =
      leaf === "sse" && eventStream && status >= 200 && status < 300
        ? endpointRewriter((data) => {
            const { key, clientEndpoint } = announceEndpoint(instance, data, credential);
            sessionToForget = key;
            return clientEndpoint;
          })
        : undefined;
    const relayed = relayBody(upstream.body.stream(), {
      eventStream,
      rewriter,
      keepaliveMs,
      idleMs: secondsToMs(instance.timeouts.sseReadTimeout, 300),
      timers,
      clientGone: () => clientSignal.aborted,
      abortUpstream: () => upstreamAbort.abort(),
      onEnd: (outcome) => {
        unfollow();
        if (sessionToForget !== null) sessions.delete(sessionToForget);
        logCall(call, status, { outcome });
        options.usage?.record(grant, { error: status >= 500 || outcome === "upstream_error" });
      },
    });
    return { status, statusText: upstream.statusText, headers: responseHeaders, body: relayed };
  };
}

/** What a call's log line and usage need to know, gathered as it goes. */
type Call = {
  started: number;
  requestId: string;
  fields: Record<string, unknown>;
  /** The grant whose usage the call counts as, once known. */
  grant?: GatewayGrant;
};

type Refusal = {
  error: AppError;
  headers?: Record<string, string>;
  cause?: unknown;
  /** The grant whose usage this refusal counts as. */
  grant?: GatewayGrant;
  /** The space of a credential used against another instance, for the log only. */
  spaceId?: string;
};
type Authorization =
  | Refusal
  | {
      grant: GatewayGrant;
      instance: GatewayInstance;
      credential: { token: string; via: "header" | "query" };
    };

const invalidTokenChallenge = { "www-authenticate": `${realm}, error="invalid_token"` };

const refusal = (
  status: number,
  code: string,
  message: string,
  headers?: Record<string, string>,
): Refusal => ({
  error: new AppError(code, message, { status }),
  headers,
});

const secondsToMs = (seconds: number, fallback: number) =>
  (Number.isFinite(seconds) && seconds > 0 ? seconds : fallback) * 1000;

const tooLarge = (maxBytes: number) =>
  refusal(413, "body_too_large", `The request body is larger than ${Math.round(maxBytes / 1024 / 1024)} MB.`);

const unavailable = () =>
  refusal(503, "gateway_unavailable", "The gateway could not look up this credential; try again shortly.");

/** An error's kind and message for a log line, with its cause's message when it has one. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.name}: ${error.message}${cause}`;
}
