import {
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  validateHeaderName,
  validateHeaderValue,
} from "node:http";
import { HOP_BY_HOP } from "../core/header-names";
import { decoderFor, wholeBodyBytes } from "./relay";

/**
 * Client request headers the upstream gets: what MCP needs (content negotiation, its own `Mcp-*`
 * headers, resumption), tracing and the user agent. Anything else a client sends could pose as
 * something the upstream trusts (X-Forwarded-Host, X-Real-IP, a name with `_` that a server reads
 * as the `-` one): it is dropped unless the instance names it.
 */
const forwarded = new Set([
  "accept",
  "content-type",
  "last-event-id",
  "traceparent",
  "tracestate",
  "user-agent",
]);

/** Request headers a client must never get to the upstream, named by the instance or not. */
const clientOnly = new Set([
  "authorization",
  "x-api-key",
  "cookie",
  "host",
  "content-length",
  "expect",
  "accept-encoding",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
  "x-real-ip",
  "forwarded",
  "x-request-id",
]);

/** Request headers as node:http gives them: lowercase names, a repeated one as a list or joined. */
export type IncomingHeaders = IncomingHttpHeaders | Record<string, string | string[] | undefined>;

/** `Mcp-Session-Id`, `MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`, `Mcp-Param-…`. */
const isMcpHeader = (name: string) => name.charCodeAt(0) === 109 && name.startsWith("mcp-");

/** A header's value, a repeated one joined as HTTP allows. */
export function headerValue(headers: IncomingHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

/** Header names a Connection header lists, to drop with it; null when it names none beyond keep-alive. */
function connectionTokens(value: string | undefined): Set<string> | null {
  // Nearly every peer sends just this, and keep-alive is hop-by-hop anyway.
  if (!value || value === "keep-alive" || value === "Keep-Alive") return null;
  return new Set(
    value
      .split(",")
      .map((token) => token.trim().toLowerCase())
      .filter(Boolean),
  );
}

function validHeader(name: string, value: string) {
  try {
    validateHeaderName(name);
    validateHeaderValue(name, value);
    return true;
  } catch {
    return false;
  }
}

type Layer = { headers: Array<[name: string, value: string]>; rejected: string[] };
// A layer is the instance's or the grant's headers, the same object for as long as the lookup is
// cached: it is checked once, not on every call.
const checkedLayers = new WeakMap<Record<string, string>, Layer>();

function checkedLayer(layer: Record<string, string>): Layer {
  let checked = checkedLayers.get(layer);
  if (checked) return checked;
  checked = { headers: [], rejected: [] };
  for (const [name, value] of Object.entries(layer)) {
    const lower = name.toLowerCase();
    const reserved = HOP_BY_HOP.has(lower) || lower === "host" || lower === "content-length";
    if (reserved || !validHeader(name, value)) checked.rejected.push(name);
    else checked.headers.push([lower, value]);
  }
  checkedLayers.set(layer, checked);
  return checked;
}

/**
 * Headers sent to the upstream: the client's that MCP needs (and those the instance names), then the
 * instance's pass-through headers overlaid by the space's, then the gateway's own view of the client.
 * Returns the names of pass-through headers that could not be set (invalid name or value) so the
 * caller can log them without their values.
 */
export function upstreamRequestHeaders(
  incoming: IncomingHeaders,
  options: {
    passThrough: Array<Record<string, string>>;
    /** Further client headers to forward, lowercase. */
    forward: string[];
    clientIp?: string;
    proto: string;
    requestId: string;
    contentLength: string | null;
  },
): { headers: Record<string, string>; rejected: string[] } {
  const named = connectionTokens(headerValue(incoming, "connection"));
  const headers: Record<string, string> = {};
  for (const name in incoming) {
    const value = incoming[name];
    if (
      value === undefined ||
      !(forwarded.has(name) || isMcpHeader(name) || options.forward.includes(name))
    ) {
      continue;
    }
    if (name.includes("_") || clientOnly.has(name) || HOP_BY_HOP.has(name) || named?.has(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  const rejected: string[] = [];
  for (const layer of options.passThrough) {
    const checked = checkedLayer(layer);
    for (const [name, value] of checked.headers) headers[name] = value;
    if (checked.rejected.length > 0) rejected.push(...checked.rejected);
  }
  // The client as the gateway saw it; whatever the client said of itself is not passed on.
  if (options.clientIp) headers["x-forwarded-for"] = options.clientIp;
  headers["x-forwarded-proto"] = options.proto;
  headers["x-request-id"] = options.requestId;
  // Asking for identity spares decoding; an upstream that compresses anyway is decoded (upstream.ts).
  headers["accept-encoding"] = "identity";
  if (options.contentLength !== null) headers["content-length"] = options.contentLength;
  return { headers, rejected };
}

/** Response headers relayed to the client: the upstream's minus hop-by-hop ones and stale framing. */
export function clientResponseHeaders(
  upstream: IncomingHttpHeaders,
  options: { streaming: boolean },
): OutgoingHttpHeaders {
  const named = connectionTokens(headerValue(upstream, "connection"));
  const decoded = decoderFor(upstream["content-encoding"]) !== undefined;
  const headers: OutgoingHttpHeaders = {};
  for (const name in upstream) {
    const value = upstream[name];
    if (value === undefined || HOP_BY_HOP.has(name) || named?.has(name)) continue;
    if (name === "content-length" && (options.streaming || decoded)) continue;
    if (name === "content-encoding" && decoded) continue;
    headers[name] = value;
  }
  return headers;
}

export function contentLengthOf(headers: IncomingHeaders): number | null {
  const raw = headerValue(headers, "content-length")?.trim();
  if (raw === undefined || !/^\d+$/.test(raw)) return null;
  return Number(raw);
}

export const isEventStream = (headers: IncomingHeaders) =>
  /^\s*text\/event-stream/i.test(headerValue(headers, "content-type") ?? "");

/** Whether a body of this declared length is read whole rather than streamed. */
export function isSmall(headers: IncomingHeaders) {
  const length = contentLengthOf(headers);
  return length !== null && length <= wholeBodyBytes;
}
