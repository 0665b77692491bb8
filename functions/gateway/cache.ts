/**
 * A small TTL cache of lookups, misses included. Concurrent loads of one key share one promise; a
 * rejected load is not kept. Oldest entries go first when it is full.
 */
export function createTtlCache<V>(options: { ttlMs: number; now: () => number; maxEntries?: number }) {
  const maxEntries = options.maxEntries ?? 10_000;
  type Entry = { value: Promise<V>; expiresAt: number; settled?: { value: V } };
  const entries = new Map<string, Entry>();

  return {
    /** The value of a fresh entry whose load has finished, without waiting a turn; else undefined. */
    peek(key: string): { value: V } | undefined {
      const hit = entries.get(key);
      return hit && hit.expiresAt > options.now() ? hit.settled : undefined;
    },
    get(key: string, load: () => Promise<V>): Promise<V> {
      const at = options.now();
      const hit = entries.get(key);
      if (hit && hit.expiresAt > at) return hit.value;
      if (hit) entries.delete(key);
      const value = load();
      const entry: Entry = { value, expiresAt: at + options.ttlMs };
      entries.set(key, entry);
      value.then(
        (settled) => {
          entry.settled = { value: settled };
        },
        () => {
          if (entries.get(key) === entry) entries.delete(key);
        },
      );
      while (entries.size > maxEntries) {
        const oldest = entries.keys().next().value;
        if (oldest === undefined) break;
        entries.delete(oldest);
      }
      return value;
    },
    delete(key: string) {
      entries.delete(key);
    },
  };
}

/** A map that forgets its oldest entries beyond a bound. */
export function createBoundedMap<V>(maxEntries: number) {
  const entries = new Map<string, V>();
  return {
    get: (key: string) => entries.get(key),
    set(key: string, value: V) {
      entries.delete(key);
      entries.set(key, value);
      while (entries.size > maxEntries) {
        const oldest = entries.keys().next().value;
        if (oldest === undefined) break;
        entries.delete(oldest);
      }
    },
    delete: (key: string) => entries.delete(key),
    get size() {
      return entries.size;
    },
  };
}
