/**
 * Latency as a fixed log-scale histogram: bucket 0 holds calls under 1 ms, bucket i ≥ 1 those from
 * 2^((i-1)/8) ms up to 2^(i/8) ms (each about 9% wide). Fixed bounds make histograms merge by adding
 * counts, so the gateway's batches, hours and days add up without keeping a single duration, and a
 * percentile read from the sum is within half a bucket (about 4.5%) of the exact one.
 */
export namespace Latency {
  const perDoubling = 8;
  /** The last bucket also holds everything longer than 2^20 ms (about 17 minutes). */
  export const lastBucket = 20 * perDoubling + 1;

  /** A histogram: bucket index to count; absent buckets are empty. */
  export type Histogram = Record<number, number>;

  export function bucketOf(ms: number): number {
    if (!(ms >= 1)) return 0;
    return Math.min(lastBucket, 1 + Math.floor(Math.log2(ms) * perDoubling));
  }

  /** The lowest and the highest duration a bucket holds (the highest excluded). */
  export function bounds(bucket: number): [number, number] {
    if (bucket === 0) return [0, 1];
    return [2 ** ((bucket - 1) / perDoubling), 2 ** (bucket / perDoubling)];
  }

  /** The duration a bucket stands for: its geometric middle, to a hundredth of a millisecond. */
  export function middleOf(bucket: number): number {
    if (bucket === 0) return 0.5;
    return Math.round(2 ** ((bucket - 0.5) / perDoubling) * 100) / 100;
  }

  export function add(into: Histogram, from: Histogram): Histogram {
    for (const [bucket, count] of Object.entries(from)) {
      into[Number(bucket)] = (into[Number(bucket)] ?? 0) + count;
    }
    return into;
  }

  export function of(durationsMs: number[]): Histogram {
    const histogram: Histogram = {};
    for (const ms of durationsMs) {
      const bucket = bucketOf(ms);
      histogram[bucket] = (histogram[bucket] ?? 0) + 1;
    }
    return histogram;
  }

  /** The q-quantile by nearest rank (the duration that q of the calls took at most); null when empty. */
  export function quantile(histogram: Histogram, q: number): number | null {
    const buckets = Object.entries(histogram)
      .map(([bucket, count]) => [Number(bucket), count] as const)
      .filter(([, count]) => count > 0)
      .sort(([a], [b]) => a - b);
    const total = buckets.reduce((sum, [, count]) => sum + count, 0);
    if (total === 0) return null;
    const rank = Math.max(1, Math.ceil(q * total));
    let seen = 0;
    for (const [bucket, count] of buckets) {
      seen += count;
      if (seen >= rank) return middleOf(bucket);
    }
    return null;
  }
}
