import { setTimeout as sleep } from "node:timers/promises";
import type { Access } from "./access";
import { Audit } from "./audit";
import { AppError, isAppError } from "./errors";
import type { SealedHeaders } from "./headers";
import type { Instance } from "./instance";
import { getRuntime } from "./runtime";
import { Keys } from "./store/keys";

/** Tries per item: an item changed by someone else between each read and write is tried again. */
const ATTEMPTS = 8;

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

/**
 * Applies `change` to an item under its version check, re-reading it after each conflict and
 * waiting a little longer each time, so a busy item gets its turn. Says what became of it.
 */
async function rewrite<T extends { pk: string; sk: string; version: number }>(
  item: T,
  change: (current: T) => Promise<T>,
): Promise<"rewritten" | "gone" | "busy"> {
  const { store } = getRuntime();
  let current: T | null = item;
  for (let attempt = 1; ; attempt++) {
    try {
      await store.replace(await change(current), current.version);
      return "rewritten";
    } catch (error) {
      if (!isAppError(error) || error.code !== "conflict") throw error;
    }
    if (attempt === ATTEMPTS) return "busy";
    await sleep(Math.min(500, 10 * 2 ** attempt) * (0.5 + Math.random() / 2));
    current = await store.get<T>({ pk: item.pk, sk: item.sk }, { consistent: true });
    if (!current) return "gone";
  }
}

/**
 * Adds a new envelope key, makes it current, and re-encrypts every credential and header value
 * with it. Old keys stay in the ring, so values not yet rewritten keep opening meanwhile. Counts
 * only what it rewrote; items changed by someone else on every try are named in a
 * `rotation_incomplete` error, and rotating again finishes the work.
 */
export async function rotateEncryptionKey(): Promise<{ keyId: string; instances: number; grants: number }> {
  const { store, envelope } = getRuntime();
  const keyId = await envelope.rotate();
  let instances = 0;
  let grants = 0;
  const left: Array<{ type: "instance" | "access"; id: string }> = [];
  for await (const instance of store.all<Instance.Stored>(Keys.instances())) {
    const outcome = await rewrite(instance, async (current) => ({
      ...current,
      headers: await reseal(current.headers),
    }));
    if (outcome === "rewritten") instances++;
    if (outcome === "busy") left.push({ type: "instance", id: instance.id });
    for await (const grant of store.all<Access.Stored>(Keys.grants(instance.id))) {
      const outcome = await rewrite(grant, async (current) => ({
        ...current,
        credential: await envelope.encrypt(await envelope.decrypt(current.credential)),
        headers: await reseal(current.headers),
      }));
      if (outcome === "rewritten") grants++;
      if (outcome === "busy") {
        left.push({ type: "access", id: `${grant.instanceId}/${grant.platformId}/${grant.spaceId}` });
      }
    }
  }
  await Audit.record("keys.rotate", { type: "key", id: keyId }, { instances, grants, left: left.length });
  if (left.length > 0) {
    throw new AppError(
      "rotation_incomplete",
      `The new key ${keyId} is current, but ${left.length} item(s) were changed by someone else on every try and still use an older key, which keeps opening them. Rotate again to finish.`,
      { details: { keyId, instances, grants, left } },
    );
  }
  return { keyId, instances, grants };
}
