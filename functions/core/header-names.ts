/** Hop-by-hop headers: they describe one connection, so the gateway relays them in neither direction. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
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

/** Headers the gateway sets or drops itself: a pass-through header may not name them. */
export const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP,
  "host",
  "content-length",
  "content-type",
  "accept",
  "mcp-session-id",
  "mcp-protocol-version",
  "last-event-id",
  "x-forwarded-for",
  "x-forwarded-proto",
]);
