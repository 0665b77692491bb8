/**
 * How an MCP server is reached: streamable HTTP or SSE. The gateway URL Dify is given ends in /mcp or
 * /sse to match. Free of zod, so the gateway's bundle can share it.
 */
export const TRANSPORTS = ["streamable-http", "sse"] as const;
export type Transport = (typeof TRANSPORTS)[number];
