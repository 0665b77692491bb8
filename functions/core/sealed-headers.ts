import type { Envelope } from "./crypto/envelope";

/** How headers are stored: each value sealed by the envelope, with a masked preview to show. */
export type SealedHeaders = Record<string, { sealed: string; preview: string }>;

/** Stored headers in plain text, for the gateway and discovery; free of zod, as the gateway needs. */
export async function openSealedHeaders(
  envelope: Envelope,
  headers: SealedHeaders | undefined,
): Promise<Record<string, string>> {
  const entries = await Promise.all(
    Object.entries(headers ?? {}).map(
      async ([name, { sealed }]) => [name, await envelope.decrypt(sealed)] as const,
    ),
  );
  return Object.fromEntries(entries);
}
