import type { Queue, SyncMessage } from "./index";

export type MessageHandler = (message: SyncMessage, attempt: number) => Promise<void>;

interface Pending {
  message: SyncMessage;
  attempt: number;
}

/**
 * The queue of `npm start`: messages are handled in this process, a few at a time, with the rules
 * the SQS queue has on AWS: a message whose handler throws is delivered again after a backoff, and
 * after `maxReceives` deliveries it moves to the dead-letter list.
 */
export class MemoryQueue implements Queue {
  readonly deadLetters: SyncMessage[] = [];
  private readonly waiting: Pending[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private running = 0;
  private handler?: MessageHandler;
  private idleWaiters: Array<() => void> = [];
  private closed = false;
  private paused = false;

  constructor(
    private readonly options: {
      concurrency?: number;
      maxReceives?: number;
      backoffMs?: (attempt: number) => number;
    } = {},
  ) {}

  consume(handler: MessageHandler) {
    this.handler = handler;
    this.pump();
  }

  async send(messages: SyncMessage[]) {
    for (const message of messages) this.waiting.push({ message, attempt: 1 });
    this.pump();
  }

  /** Holds new deliveries back until resume(). */
  pause() {
    this.paused = true;
  }

  resume() {
    this.paused = false;
    this.pump();
  }

  /** Resolves when nothing is waiting, running or scheduled for a retry. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close() {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.waiting.length = 0;
    await new Promise<void>((resolve) => {
      if (this.running === 0) resolve();
      else this.idleWaiters.push(resolve);
    });
  }

  private isIdle() {
    return this.waiting.length === 0 && this.running === 0 && this.timers.size === 0;
  }

  private pump() {
    const concurrency = this.options.concurrency ?? 8;
    while (
      !this.closed &&
      !this.paused &&
      this.handler &&
      this.running < concurrency &&
      this.waiting.length > 0
    ) {
      const next = this.waiting.shift() as Pending;
      this.running++;
      void this.deliver(this.handler, next);
    }
    if (this.isIdle() && !this.paused) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private async deliver(handler: MessageHandler, pending: Pending) {
    try {
      await handler(pending.message, pending.attempt);
    } catch {
      if (pending.attempt >= (this.options.maxReceives ?? 5)) {
        this.deadLetters.push(pending.message);
      } else if (!this.closed) {
        const delay =
          this.options.backoffMs?.(pending.attempt) ?? Math.min(30_000, 1000 * 2 ** (pending.attempt - 1));
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          this.waiting.push({ message: pending.message, attempt: pending.attempt + 1 });
          this.pump();
        }, delay);
        timer.unref();
        this.timers.add(timer);
      }
    } finally {
      this.running--;
      this.pump();
    }
  }
}
