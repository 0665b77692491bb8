export interface UsageEntry {
  instanceId: string;
  platformId: string;
  spaceId: string;
  calls: number;
  errors: number;
  /** ISO timestamp of the last call served in this entry; null when every one was refused. */
  lastUsedAt: string | null;
}

interface UsageTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const unrefTimers: UsageTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout> | undefined),
};

/**
 * Counts gateway calls per grant in memory and hands them to `flush` at most once per interval,
 * off the request path. A failed flush keeps its counts for the next one.
 */
export function createUsageRecorder(options: {
  flush: (entries: UsageEntry[]) => Promise<void>;
  intervalMs?: number;
  now?: () => number;
  timers?: UsageTimers;
  onError?: (error: unknown) => void;
}) {
  const intervalMs = options.intervalMs ?? 60_000;
  const now = options.now ?? Date.now;
  const timers = options.timers ?? unrefTimers;
  // lastUsedAt in milliseconds until a flush: a call only adds to counts.
  type Pending = Omit<UsageEntry, "lastUsedAt"> & { lastUsedAt: number };
  const iso = (at: number) => (Number.isFinite(at) ? new Date(at).toISOString() : null);
  let pending = new Map<string, Pending>();
  let timer: unknown;
  let scheduled = false;
  let flushing: Promise<void> = Promise.resolve();
  let lastFlushAt = now();

  type Grant = { instanceId: string; platformId: string; spaceId: string };
  // A grant is the same object for as long as its lookup is cached: its key is built once.
  const keys = new WeakMap<object, string>();
  const keyOf = (grant: Grant) => {
    let key = keys.get(grant);
    if (key === undefined) {
      key = `${grant.instanceId}\n${grant.spaceId}\n${grant.platformId}`;
      keys.set(grant, key);
    }
    return key;
  };

  /** Adds counts to the grant's pending entry, without an object per call once it has one. */
  const merge = (grant: Grant, calls: number, errors: number, lastUsedAt: number) => {
    const key = keyOf(grant);
    const existing = pending.get(key);
    if (!existing) {
      const { instanceId, platformId, spaceId } = grant;
      pending.set(key, { instanceId, platformId, spaceId, calls, errors, lastUsedAt });
      return;
    }
    existing.calls += calls;
    existing.errors += errors;
    if (lastUsedAt > existing.lastUsedAt) existing.lastUsedAt = lastUsedAt;
  };

  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    timer = timers.setTimeout(() => {
      scheduled = false;
      flushNow().catch((error) => options.onError?.(error));
    }, intervalMs);
  };

  const flushOnce = async () => {
    if (pending.size === 0) return;
    const batch = [...pending.values()];
    pending = new Map();
    lastFlushAt = now();
    try {
      await options.flush(batch.map((entry) => ({ ...entry, lastUsedAt: iso(entry.lastUsedAt) })));
    } catch (error) {
      for (const entry of batch) merge(entry, entry.calls, entry.errors, entry.lastUsedAt);
      schedule();
      throw error;
    }
  };

  /** Flushes what is pending now (after any flush under way); for shutdown and tests. */
  function flushNow(): Promise<void> {
    const next = flushing.then(flushOnce);
    flushing = next.catch(() => {});
    return next;
  }

  return {
    /** A call served (and whether it failed), or one refused: an error, and neither a call nor a use. */
    record(grant: Grant, outcome: { error: boolean; refused?: boolean }) {
      if (outcome.refused) merge(grant, 0, 1, Number.NEGATIVE_INFINITY);
      else merge(grant, 1, outcome.error ? 1 : 0, now());
      schedule();
    },
    flushNow,
    /**
     * Flushes if an interval has passed since the last flush. Lambda calls it after each response,
     * since a frozen sandbox runs no timers.
     */
    flushIfDue(): Promise<void> {
      return pending.size > 0 && now() - lastFlushAt >= intervalMs ? flushNow() : Promise.resolve();
    },
    /** Stops the timer without flushing. */
    stop() {
      timers.clearTimeout(timer);
      scheduled = false;
    },
  };
}
