import { z } from "zod";
import { mask } from "./mask";
import { getRuntime } from "./runtime";
import type { HeaderMap, HeaderUpdate } from "./schemas";
import { openSealedHeaders, type SealedHeaders } from "./sealed-headers";

export { mask } from "./mask";
export { HeaderMap, HeaderName, HeaderUpdate, HeaderValue } from "./schemas";

export type { SealedHeaders } from "./sealed-headers";

/** What responses show of a header: its name and a masked value. */
export const MaskedHeaders = z.record(z.string(), z.string());

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
  return openSealedHeaders(getRuntime().envelope, headers);
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
