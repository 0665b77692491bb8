import { type LimitCounter, storeCounter } from "../core/limit-counter";
import { getRuntime } from "../core/runtime";

/**
 * Sign-in attempts per client, at most `max` in each window, counted in the table before the
 * password is checked: attempts made at once, on however many API functions, are limited as if
 * made one after another. A successful attempt is given back, so only failures use up the window.
 */
export class SignInLimiter {
  constructor(
    private readonly counter: () => LimitCounter = () => storeCounter(getRuntime().store),
    private readonly max = 10,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Counts an attempt. Answers how to give it back once it succeeds, or the seconds until the
   * client may try again.
   */
  async attempt(client: string): Promise<{ succeeded(): Promise<void> } | { retryAfter: number }> {
    const at = this.now();
    const windowEnd = (Math.floor(at / this.windowMs) + 1) * this.windowMs;
    const key = `signin#${client}#${windowEnd}`;
    const counter = this.counter();
    if (!(await counter.take(key, this.max, windowEnd))) {
      return { retryAfter: Math.max(1, Math.ceil((windowEnd - at) / 1000)) };
    }
    return { succeeded: async () => void (await counter.give(key)) };
  }
}
