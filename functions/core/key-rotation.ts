import type { Access } from "./access";
import { Audit } from "./audit";
import type { SealedHeaders } from "./headers";
import type { Instance } from "./instance";
import { getRuntime } from "./runtime";

async function reseal(headers: SealedHeaders | undefined): Promise<SealedHeaders> {
  const { envelope } = getRuntime();
  const entries = await Promise.all(
    Object.entries(headers ?? {}).map(
      async ([name, value]) =>
        [name, { ...value, sealed: await envelope.encrypt(await envelope.decrypt(value.sealed)) }] as const,
    ),
  );
  return Object.fromEntries(entries);
}

/** Re-reads an item and applies `change` until its version check passes. */
async function rewrite<T extends { pk: string; sk: string; version: number }>(
  item: T,
  change: (current: T) => Promise<T>,
) {
  const { store } = getRuntime();
  let current: T | null = item;
  for (let attempt = 0; current && attempt < 5; attempt++) {
    try {
      await store.replace(await change(current), current.version);
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== "conflict") throw error;
      current = await store.get<T>({ pk: item.pk, sk: item.sk }, { consistent: true });
    }
  }
}

/**
 * Adds a new envelope key, makes it current, and re-encrypts every credential and header value
 * with it. Old keys stay in the ring, so values not yet rewritten keep opening meanwhile.
 */
export async function rotateEncryptionKey(): Promise<{ keyId: string; instances: number; grants: number }> {
  const { store, envelope } = getRuntime();
  const keyId = await envelope.rotate();
  let instances = 0;
  let grants = 0;
  for await (const instance of store.all<Instance.Stored>({ pk: "INSTANCE" })) {
    await rewrite(instance, async (current) => ({ ...current, headers: await reseal(current.headers) }));
    instances++;
    for await (const grant of store.all<Access.Stored>({ pk: `GRANT#${instance.id}` })) {
      await rewrite(grant, async (current) => ({
        ...current,
        credential: await envelope.encrypt(await envelope.decrypt(current.credential)),
        headers: await reseal(current.headers),
      }));
      grants++;
    }
  }
  await Audit.record("keys.rotate", { type: "key", id: keyId }, { instances, grants });
  return { keyId, instances, grants };
}
