import type { Store } from "./store";
import { Keys } from "./store/keys";

/**
 * Where a limit is counted: the gateway's calls per space, the API's sign-in attempts per client. In
 * one process a map can; where many functions count for the same key, a DynamoDB item per key and
 * window.
 */
export interface LimitCounter {
  /**
   * Adds one to the count under `key` unless it has reached `limit`; false when it has. The count
   * is forgotten at `expiresAt` (epoch ms).
   */
  take(key: string, limit: number, expiresAt: number): boolean | Promise<boolean>;
  /** Gives back one that `take` added (a call no longer in flight). */
  give(key: string): void | Promise<void>;
}

/** Counts in this process's memory; expired counts are dropped as new ones are taken. */
export function memoryCounter(now: () => number = Date.now): LimitCounter {
  const counts = new Map<string, { count: number; expiresAt: number }>();
  let sweepAt = 0;
  return {
    take(key, limit, expiresAt) {
      const at = now();
      if (at >= sweepAt) {
        for (const [name, entry] of counts) if (entry.expiresAt <= at) counts.delete(name);
        sweepAt = at + 60_000;
      }
      const entry = counts.get(key);
      if (entry === undefined || entry.expiresAt <= at) {
        counts.set(key, { count: 1, expiresAt });
        return true;
      }
      if (entry.count >= limit) return false;
      entry.count += 1;
      return true;
    },
    give(key) {
      const entry = counts.get(key);
      if (entry !== undefined && entry.count > 0) entry.count -= 1;
    },
  };
}

/**
 * Counts in the table: one conditional update adds to an item per key and window (created by the
 * first), refused once it holds `limit`; the item expires with its window (DynamoDB's TTL).
 */
export function storeCounter(store: Store): LimitCounter {
  return {
    take: (key, limit, expiresAt) =>
      store.count(Keys.limit(key), 1, { below: limit, ttl: Math.ceil(expiresAt / 1000) + 60 }),
    give: async (key) => {
      await store.count(Keys.limit(key), -1);
    },
  };
}
