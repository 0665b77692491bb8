import { Latency } from "./latency";

/** Calls of an hour (or a day) by outcome, and the latency of those the upstream answered. */
export interface UsageTally {
  calls: number;
  ok: number;
  upstreamError: number;
  refused: number;
  limited: number;
  timeout: number;
  latency: Latency.Histogram;
}

export const emptyTally = (): UsageTally => ({
  calls: 0,
  ok: 0,
  upstreamError: 0,
  refused: 0,
  limited: 0,
  timeout: 0,
  latency: {},
});

/** Adds one tally into another (batches, hours into days, spaces into the instance). */
export function addTally(into: UsageTally, from: UsageTally): UsageTally {
  into.calls += from.calls;
  into.ok += from.ok;
  into.upstreamError += from.upstreamError;
  into.refused += from.refused;
  into.limited += from.limited;
  into.timeout += from.timeout;
  Latency.add(into.latency, from.latency);
  return into;
}
