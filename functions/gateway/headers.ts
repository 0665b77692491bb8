import { decodedEncodings } from "./upstream";

const hopByHop = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** Request headers a client must never get to the upstream: its credentials and what the hop owns. */
const clientOnly = new Set([
  "authorization",
  "x-api-key",
  "cookie",
  "host",
  "content-length",
  "expect",
  "accept-encoding",
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-request-id",
]);

const connectionTokens = (headers: Headers) =>
  new Set(
    (headers.get("connection") ?? "")
      .split(",")
      .map((token) => token.trim().toLowerCase())
      .filter(Boolean),
  );

/**
 * Headers sent to the upstream: the client's minus credentials and hop-by-hop ones, then the
 * instance's pass-through headers overlaid by the space's. Returns the names of pass-through headers
 * that could not be set (invalid name or value) so the caller can log them without their values.
 */
export function upstreamRequestHeaders(
  incoming: Headers,
  options: {
    passThrough: Array<Record<string, string>>;
    clientIp?: string;
    proto: string;
    requestId: string;
    contentLength: string | null;
  },
): { headers: Headers; rejected: string[] } {
  const named = connectionTokens(incoming);
  const headers = new Headers();
  for (const [name, value] of incoming) {
    if (clientOnly.has(name) || hopByHop.has(name) || named.has(name)) continue;
    headers.append(name, value);
  }
  const rejected: string[] = [];
  for (const layer of options.passThrough) {
    for (const [name, value] of Object.entries(layer)) {
      const lower = name.toLowerCase();
      if (hopByHop.has(lower) || lower === "host" || lower === "content-length") {
        rejected.push(name);
        continue;
      }
      try {
        headers.set(name, value);
      } catch {
        rejected.push(name);
      }
    }
  }
  const forwardedFor = incoming.get("x-forwarded-for");
  const chain = [forwardedFor, options.clientIp].filter((part): part is string => Boolean(part));
  if (chain.length > 0) headers.set("x-forwarded-for", chain.join(", "));
  headers.set("x-forwarded-proto", options.proto);
  headers.set("x-request-id", options.requestId);
  // Asking for identity spares decoding; an upstream that compresses anyway is decoded (upstream.ts).
  headers.set("accept-encoding", "identity");
  if (options.contentLength !== null) headers.set("content-length", options.contentLength);
  return { headers, rejected };
}

/** Response headers relayed to the client: the upstream's minus hop-by-hop ones and stale framing. */
export function clientResponseHeaders(upstream: Headers, options: { streaming: boolean }): Headers {
  const named = connectionTokens(upstream);
  const encoding = upstream.get("content-encoding")?.trim().toLowerCase();
  const decoded = encoding !== undefined && decodedEncodings.has(encoding);
  const headers = new Headers();
  for (const [name, value] of upstream) {
    if (hopByHop.has(name) || named.has(name)) continue;
    if (name === "content-length" && (options.streaming || decoded)) continue;
    if (name === "content-encoding" && decoded) continue;
    if (name === "set-cookie") continue;
    headers.append(name, value);
  }
  for (const cookie of upstream.getSetCookie()) headers.append("set-cookie", cookie);
  return headers;
}
