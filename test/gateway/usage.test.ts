import { describe, expect, it } from "vitest";
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

    expect(flushed).toEqual([[{ ...spaceA, calls: 3, errors: 1, lastUsedAt: "2026-01-15T10:00:00.000Z" }]]);
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
    expect(flushed).toEqual([
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

    expect(flushed).toEqual([[{ ...spaceA, calls: 2, errors: 0, lastUsedAt: "1970-01-01T00:00:00.000Z" }]]);
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

    expect(flushed).toEqual([
      [
        { ...spaceA, calls: 0, errors: 1, lastUsedAt: null },
        { ...spaceB, calls: 1, errors: 1, lastUsedAt: "2026-01-15T10:00:00.000Z" },
      ],
    ]);
  });
});
