import type { GatewayTimers } from "./types";

export const defaultTimers: GatewayTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout> | undefined),
  refresh: (handle) => (handle as ReturnType<typeof setTimeout> | undefined)?.refresh(),
};

export const secondsToMs = (seconds: number, fallback: number) =>
  (Number.isFinite(seconds) && seconds > 0 ? seconds : fallback) * 1000;

/**
 * An upstream request's deadline as Dify applies an instance's timeouts: `timeout` for getting a
 * connection and sending the request, then up to `sseReadTimeout` in all for the answer to begin, so
 * a tool that computes longer than `timeout` is not cut.
 */
export class UpstreamDeadline {
  sent = false;
  expired = false;
  private extended = false;
  private handle: unknown;

  constructor(
    private readonly timers: GatewayTimers,
    private readonly sendMs: number,
    private readonly answerMs: number,
    private readonly onExpire: () => void,
  ) {
    this.handle = timers.setTimeout(this.fire, sendMs);
  }

  readonly onSent = () => {
    this.sent = true;
  };

  private readonly fire = () => {
    if (this.sent && !this.extended && this.answerMs > this.sendMs) {
      this.extended = true;
      this.handle = this.timers.setTimeout(this.fire, this.answerMs - this.sendMs);
      return;
    }
    this.expired = true;
    this.onExpire();
  };

  clear() {
    this.timers.clearTimeout(this.handle);
  }
}
