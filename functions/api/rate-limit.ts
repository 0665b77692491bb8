/**
 * Counts attempts per client in a sliding window; a success forgets the client's count. Kept in memory: on Lambda each warm instance
 * counts on its own, which still bounds guessing to a few attempts a second across the fleet.
 */
export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly max = 10,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Counts an attempt before its outcome is known, so attempts made at once are limited as if made
   * one after another. Returns 0 when the attempt may go ahead, else the seconds until one may.
   */
  attempt(client: string): number {
    const recent = this.recent(client);
    if (recent.length >= this.max) {
      return Math.max(1, Math.ceil(((recent[0] ?? 0) + this.windowMs - this.now()) / 1000));
    }
    recent.push(this.now());
    this.failures.set(client, recent);
    if (this.failures.size > 10_000) this.failures.delete(this.failures.keys().next().value as string);
    return 0;
  }

  succeed(client: string) {
    this.failures.delete(client);
  }

  reset() {
    this.failures.clear();
  }

  private recent(client: string) {
    const since = this.now() - this.windowMs;
    return (this.failures.get(client) ?? []).filter((at) => at > since);
  }
}
