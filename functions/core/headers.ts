import { z } from "zod";
import { getRuntime } from "./runtime";

/** Headers the gateway sets or drops itself; a pass-through header may not name them. */
const RESERVED = new Set([
  "host",
  "connection",
  "content-length",
  "content-type",
  "accept",
  "transfer-encoding",
  "keep-alive",
  "upgrade",
  "te",
  "trailer",
  "proxy-authorization",
  "proxy-authenticate",
  "proxy-connection",
  "mcp-session-id",
  "mcp-protocol-version",
  "last-event-id",
  "x-forwarded-for",
  "x-forwarded-proto",
]);

export const HeaderName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "A header name has letters, digits and - only, no spaces")
  .refine((name) => !RESERVED.has(name.toLowerCase()), "The gateway sets this header itself");

export const HeaderValue = z
  .string()
  .max(8192)
  .regex(/^[^\r\n\0]*$/, "A header value cannot contain line breaks");

/** Pass-through headers as given in a request: name to plain value. */
export const HeaderMap = z
  .record(HeaderName, HeaderValue)
  .refine((map) => Object.keys(map).length <= 50, "At most 50 headers")
  .refine(
    (map) => new Set(Object.keys(map).map((name) => name.toLowerCase())).size === Object.keys(map).length,
    "Header names must differ in more than case",
  );
export type HeaderMap = z.infer<typeof HeaderMap>;

/**
 * A new set of headers for an update: every name to keep, with a new value or `{ keep: true }` to
 * keep the stored one without sending it back. Names left out are removed.
 */
export const HeaderUpdate = z.record(HeaderName, z.union([HeaderValue, z.object({ keep: z.literal(true) })]));
export type HeaderUpdate = z.infer<typeof HeaderUpdate>;

/** How headers are stored: each value sealed by the envelope, with a masked preview to show. */
export type SealedHeaders = Record<string, { sealed: string; preview: string }>;

/** What responses show of a header: its name and a masked value. */
export const MaskedHeaders = z.record(z.string(), z.string());

export function mask(value: string): string {
  return value.length >= 16 ? `••••${value.slice(-4)}` : "••••";
}

export async function sealHeaders(headers: HeaderMap): Promise<SealedHeaders> {
  const { envelope } = getRuntime();
  const entries = await Promise.all(
    Object.entries(headers).map(
      async ([name, value]) =>
        [name, { sealed: await envelope.encrypt(value), preview: mask(value) }] as const,
    ),
  );
  return Object.fromEntries(entries);
}

export async function openHeaders(headers: SealedHeaders | undefined): Promise<HeaderMap> {
  const { envelope } = getRuntime();
  const entries = await Promise.all(
    Object.entries(headers ?? {}).map(
      async ([name, { sealed }]) => [name, await envelope.decrypt(sealed)] as const,
    ),
  );
  return Object.fromEntries(entries);
}

export function maskHeaders(headers: SealedHeaders | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(headers ?? {}).map(([name, { preview }]) => [name, preview]));
}

/** Applies an update to stored headers: new values are sealed, `{ keep: true }` keeps the old one. */
export async function updateHeaders(
  current: SealedHeaders | undefined,
  update: HeaderUpdate,
): Promise<SealedHeaders> {
  const next: SealedHeaders = {};
  const fresh: HeaderMap = {};
  for (const [name, value] of Object.entries(update)) {
    if (typeof value === "string") {
      fresh[name] = value;
      continue;
    }
    const kept = Object.entries(current ?? {}).find(
      ([stored]) => stored.toLowerCase() === name.toLowerCase(),
    );
    if (kept) next[name] = kept[1];
  }
  return { ...next, ...(await sealHeaders(fresh)) };
}
