import { describe, expect, it } from "vitest";
import { Latency } from "../../functions/core/latency";
import { createUsageRecorder, type UsageEntry } from "../../functions/gateway/usage";

function manualTimers() {
  const pending = new Map<number, () => void>();
  let sequence = 0;
  return {
    setTimeout(callback: () => void) {
      sequence += 1;
      pending.set(sequence, callback);
      return sequence;
    },
    clearTimeout(handle: unknown) {
      pending.delete(handle as number);
    },
    /** Fires every timer due now (the recorder only ever holds one, for the interval). */
    fire() {
      const due = [...pending.values()];
      pending.clear();
      for (const callback of due) callback();
    },
    get pending() {
      return pending.size;
    },
  };
}

const spaceA = { instanceId: "ins_1", platformId: "plt_1", spaceId: "spc_a" };
const spaceB = { instanceId: "ins_1", platformId: "plt_1", spaceId: "spc_b" };

/** A recorder whose clock stands at 2026-01-15 10:00 UTC, and what it flushes. */
function recorderAtNoon() {
  const flushed: UsageEntry[][] = [];
  const recorder = createUsageRecorder({
    flush: async (entries) => {
      flushed.push(entries);
    },
    now: () => Date.parse("2026-01-15T10:00:00Z"),
    timers: manualTimers(),
  });
  return { flushed, recorder };
}

describe("usage recorder", () => {
  it("counts a grant looked up afresh (a new object) into the same entry", async () => {
    const { flushed, recorder } = recorderAtNoon();

    recorder.record(spaceA, { error: false });
    recorder.record({ ...spaceA }, { error: true });
    recorder.record({ ...spaceA }, { error: false });
    await recorder.flushNow();

    expect(flushed).toMatchObject([
      [{ ...spaceA, calls: 3, errors: 1, lastUsedAt: "2026-01-15T10:00:00.000Z" }],
    ]);
  });

  it("aggregates calls per grant and flushes once when the interval elapses", async () => {
    const flushed: UsageEntry[][] = [];
    let clock = Date.parse("2026-01-15T10:00:00Z");
    const timers = manualTimers();
    const recorder = createUsageRecorder({
      flush: async (entries) => {
        flushed.push(entries);
      },
      intervalMs: 60_000,
      now: () => clock,
      timers,
    });

    recorder.record(spaceA, { error: false });
    recorder.record(spaceB, { error: true });
    clock += 1_000;
    recorder.record(spaceA, { error: true });
    const flushedBeforeInterval = flushed.length;
    timers.fire();
    await recorder.flushNow();

    expect(flushedBeforeInterval).toBe(0);
    expect(flushed).toMatchObject([
      [
        { ...spaceA, calls: 2, errors: 1, lastUsedAt: "2026-01-15T10:00:01.000Z" },
        { ...spaceB, calls: 1, errors: 1, lastUsedAt: "2026-01-15T10:00:00.000Z" },
      ],
    ]);
    expect(timers.pending).toBe(0);
  });

  it("keeps the counts of a failed flush for the next one", async () => {
    const flushed: UsageEntry[][] = [];
    let failNext = true;
    const errors: unknown[] = [];
    const timers = manualTimers();
    const recorder = createUsageRecorder({
      flush: async (entries) => {
        if (failNext) {
          failNext = false;
          throw new Error("table unavailable");
        }
        flushed.push(entries);
      },
      now: () => 0,
      timers,
      onError: (error) => errors.push(error),
    });

    recorder.record(spaceA, { error: false });
    await expect(recorder.flushNow()).rejects.toThrow("table unavailable");
    recorder.record(spaceA, { error: false });
    timers.fire();
    await recorder.flushNow();

    expect(flushed).toMatchObject([
      [{ ...spaceA, calls: 2, errors: 0, lastUsedAt: "1970-01-01T00:00:00.000Z" }],
    ]);
    expect(errors).toEqual([]);
  });

  it("flushes nothing when nothing was recorded", async () => {
    const flushed: UsageEntry[][] = [];
    const recorder = createUsageRecorder({ flush: async (entries) => void flushed.push(entries) });

    await recorder.flushNow();

    expect(flushed).toEqual([]);
  });
});

describe("refused calls", () => {
  it("count as errors, and neither as calls nor as uses", async () => {
    const { flushed, recorder } = recorderAtNoon();

    recorder.record(spaceA, { error: true, refused: true });
    recorder.record(spaceB, { error: false });
    recorder.record(spaceB, { error: true, refused: true });
    await recorder.flushNow();

    expect(flushed).toMatchObject([
      [
        { ...spaceA, calls: 0, errors: 1, lastUsedAt: null },
        { ...spaceB, calls: 1, errors: 1, lastUsedAt: "2026-01-15T10:00:00.000Z" },
      ],
    ]);
  });
});

describe("usage history", () => {
  it("counts each hour's calls by outcome, with the latency of those the upstream answered", async () => {
    const { flushed, recorder } = recorderAtNoon();

    recorder.record(spaceA, { error: false, outcome: "ok", status: 200, durationMs: 12, tool: "echo" });
    recorder.record(spaceA, { error: false, outcome: "ok", status: 200, durationMs: 40, tool: "echo" });
    recorder.record(spaceA, {
      error: true,
      outcome: "upstream_error",
      status: 502,
      durationMs: 300,
      tool: "add",
    });
    recorder.record(spaceA, { error: true, refused: true, outcome: "refused", status: 403, durationMs: 1 });
    recorder.record(spaceA, { error: true, refused: true, outcome: "limited", status: 429, durationMs: 1 });
    recorder.record(spaceA, { error: true, outcome: "timeout", status: 504, durationMs: 30_000 });
    recorder.record(spaceA, { error: false, outcome: "ok", status: 200, durationMs: 90_000, stream: true });
    await recorder.flushNow();

    const [entry] = flushed[0] ?? [];
    expect(entry?.hours).toEqual([
      {
        hour: "2026-01-15T10:00:00.000Z",
        calls: 7,
        ok: 3,
        upstreamError: 1,
        refused: 1,
        limited: 1,
        timeout: 1,
        latency: Latency.of([12, 40, 300]),
      },
    ]);
    expect(entry?.tools).toEqual([
      { day: "2026-01-15", tool: "echo", calls: 2, errors: 0 },
      { day: "2026-01-15", tool: "add", calls: 1, errors: 1 },
    ]);
  });

  it("keeps the history of a failed flush for the next one", async () => {
    const flushed: UsageEntry[][] = [];
    let failNext = true;
    const recorder = createUsageRecorder({
      flush: async (entries) => {
        if (failNext) {
          failNext = false;
          throw new Error("table unavailable");
        }
        flushed.push(entries);
      },
      now: () => Date.parse("2026-01-15T10:00:00Z"),
      timers: manualTimers(),
    });

    recorder.record(spaceA, { error: false, outcome: "ok", durationMs: 5, tool: "echo" });
    await expect(recorder.flushNow()).rejects.toThrow("table unavailable");
    recorder.record(spaceA, { error: false, outcome: "ok", durationMs: 7, tool: "echo" });
    await recorder.flushNow();

    expect(flushed[0]?.[0]?.hours).toMatchObject([{ calls: 2, ok: 2, latency: Latency.of([5, 7]) }]);
    expect(flushed[0]?.[0]?.tools).toEqual([{ day: "2026-01-15", tool: "echo", calls: 2, errors: 0 }]);
  });
});

describe("latency histogram", () => {
  it("reads a percentile within the bucket that holds the exact one, however batches were merged", () => {
    const durations = Array.from({ length: 500 }, (_, index) => 1 + ((index * 37) % 997) * 1.7);
    const sorted = [...durations].sort((a, b) => a - b);
    const exact = (q: number) => sorted[Math.ceil(q * sorted.length) - 1] ?? 0;
    const merged = Latency.add(Latency.of(durations.slice(0, 200)), Latency.of(durations.slice(200)));

    for (const q of [0.5, 0.95]) {
      const value = Latency.quantile(merged, q) ?? Number.NaN;
      const [low, high] = Latency.bounds(Latency.bucketOf(exact(q)));
      expect(value).toBeGreaterThanOrEqual(low);
      expect(value).toBeLessThan(high);
    }
    expect(merged).toEqual(Latency.of(durations));
    expect(Latency.quantile({}, 0.5)).toBeNull();
  });
});
