import { Latency } from "../core/latency";
import { addTally, emptyTally, type UsageTally } from "../core/usage-tally";
import type { CallOutcome, CallRecord } from "./types";

export interface UsageEntry {
  instanceId: string;
  platformId: string;
  spaceId: string;
  calls: number;
  errors: number;
  /** ISO timestamp of the last call served in this entry; null when every one was refused. */
  lastUsedAt: string | null;
  /** The entry's calls per hour: `hour` is the hour's start, ISO. */
  hours: Array<UsageTally & { hour: string }>;
  /** `tools/call` calls per tool and day (`day` as YYYY-MM-DD). */
  tools: Array<{ day: string; tool: string; calls: number; errors: number }>;
}

const outcomeField = {
  ok: "ok",
  upstream_error: "upstreamError",
  refused: "refused",
  limited: "limited",
  timeout: "timeout",
} as const satisfies Record<CallOutcome, keyof UsageTally>;

const hourMs = 3_600_000;
const dayMs = 24 * hourMs;

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
  type Pending = Omit<UsageEntry, "lastUsedAt" | "hours" | "tools"> & {
    lastUsedAt: number;
    hours: Map<number, UsageTally>;
    /** Per day (its start in ms), per tool: calls and errors. */
    tools: Map<number, Map<string, { calls: number; errors: number }>>;
  };
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

  const pendingOf = (grant: Grant) => {
    const key = keyOf(grant);
    let entry = pending.get(key);
    if (!entry) {
      const { instanceId, platformId, spaceId } = grant;
      entry = {
        instanceId,
        platformId,
        spaceId,
        calls: 0,
        errors: 0,
        lastUsedAt: Number.NEGATIVE_INFINITY,
        hours: new Map(),
        tools: new Map(),
      };
      pending.set(key, entry);
    }
    return entry;
  };

  /** Adds counts to the grant's pending entry, without an object per call once it has one. */
  const merge = (grant: Grant, calls: number, errors: number, lastUsedAt: number) => {
    const entry = pendingOf(grant);
    entry.calls += calls;
    entry.errors += errors;
    if (lastUsedAt > entry.lastUsedAt) entry.lastUsedAt = lastUsedAt;
    return entry;
  };

  /** Adds a call to its hour and, for a tool call, to its tool's day. */
  const tallyCall = (entry: Pending, call: CallRecord, at: number) => {
    const outcome = call.outcome ?? (call.refused ? "refused" : call.error ? "upstream_error" : "ok");
    const hour = at - (at % hourMs);
    let tally = entry.hours.get(hour);
    if (!tally) {
      tally = emptyTally();
      entry.hours.set(hour, tally);
    }
    tally.calls += 1;
    tally[outcomeField[outcome]] += 1;
    // A refusal's or a stream's duration says nothing about how fast the upstream answers.
    if (call.durationMs !== undefined && !call.stream && (outcome === "ok" || outcome === "upstream_error")) {
      const bucket = Latency.bucketOf(call.durationMs);
      tally.latency[bucket] = (tally.latency[bucket] ?? 0) + 1;
    }
    if (call.tool === undefined) return;
    const day = at - (at % dayMs);
    let tools = entry.tools.get(day);
    if (!tools) {
      tools = new Map();
      entry.tools.set(day, tools);
    }
    const counts = tools.get(call.tool);
    const failed = outcome === "ok" ? 0 : 1;
    if (counts) {
      counts.calls += 1;
      counts.errors += failed;
    } else tools.set(call.tool, { calls: 1, errors: failed });
  };

  /** Puts a batch that could not be written back, to go with the next one. */
  const restore = (entry: Pending) => {
    const into = merge(entry, entry.calls, entry.errors, entry.lastUsedAt);
    for (const [hour, tally] of entry.hours) {
      const existing = into.hours.get(hour);
      if (existing) addTally(existing, tally);
      else into.hours.set(hour, tally);
    }
    for (const [day, tools] of entry.tools) {
      const existing = into.tools.get(day) ?? new Map();
      into.tools.set(day, existing);
      for (const [tool, counts] of tools) {
        const sum = existing.get(tool);
        if (sum) {
          sum.calls += counts.calls;
          sum.errors += counts.errors;
        } else existing.set(tool, counts);
      }
    }
  };

  const toEntry = (entry: Pending): UsageEntry => ({
    instanceId: entry.instanceId,
    platformId: entry.platformId,
    spaceId: entry.spaceId,
    calls: entry.calls,
    errors: entry.errors,
    lastUsedAt: iso(entry.lastUsedAt),
    hours: [...entry.hours].map(([hour, tally]) => ({ hour: new Date(hour).toISOString(), ...tally })),
    tools: [...entry.tools].flatMap(([day, tools]) =>
      [...tools].map(([tool, counts]) => ({
        day: new Date(day).toISOString().slice(0, 10),
        tool,
        ...counts,
      })),
    ),
  });

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
      await options.flush(batch.map(toEntry));
    } catch (error) {
      for (const entry of batch) restore(entry);
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
    /**
     * A call served (and whether it failed), or one refused: an error, and neither a call nor a use.
     * Its hour counts it either way, by outcome.
     */
    record(grant: Grant, call: CallRecord) {
      const at = now();
      const entry = call.refused
        ? merge(grant, 0, 1, Number.NEGATIVE_INFINITY)
        : merge(grant, 1, call.error ? 1 : 0, at);
      tallyCall(entry, call, at);
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
