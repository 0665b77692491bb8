import { type BatchHandler, type Delivery, MAX_RECEIVES, type Queue, type SyncMessage } from "./index";

/**
 * The queue of `npm start`: messages are handled in this process, in batches of up to `batchSize`
 * as the SQS worker receives them, with the rules the SQS queue has on AWS: a delivery the handler
 * rejects is delivered again after a backoff, and after MAX_RECEIVES it moves to the dead-letter
 * list.
 */
export class MemoryQueue implements Queue {
  readonly deadLetters: SyncMessage[] = [];
  private readonly waiting: Delivery[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private running = 0;
  private handler?: BatchHandler;
  private idleWaiters: Array<() => void> = [];
  private closed = false;
  private paused = false;

  constructor(
    private readonly options: {
      /** Batches handled at once. */
      concurrency?: number;
      batchSize?: number;
      backoffMs?: (attempt: number) => number;
    } = {},
  ) {}

  consume(handler: BatchHandler) {
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
    const concurrency = this.options.concurrency ?? 2;
    while (
      !this.closed &&
      !this.paused &&
      this.handler &&
      this.running < concurrency &&
      this.waiting.length > 0
    ) {
      const batch = this.waiting.splice(0, this.options.batchSize ?? 10);
      this.running++;
      void this.deliver(this.handler, batch);
    }
    if (this.isIdle() && !this.paused) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private async deliver(handler: BatchHandler, batch: Delivery[]) {
    try {
      const results = await handler(batch).catch((error) =>
        batch.map((): PromiseSettledResult<unknown> => ({ status: "rejected", reason: error })),
      );
      batch.forEach((delivery, index) => {
        if (results[index]?.status === "rejected") this.again(delivery);
      });
    } finally {
      this.running--;
      this.pump();
    }
  }

  private again(delivery: Delivery) {
    if (delivery.attempt >= MAX_RECEIVES) {
      this.deadLetters.push(delivery.message);
      return;
    }
    if (this.closed) return;
    const delay =
      this.options.backoffMs?.(delivery.attempt) ?? Math.min(30_000, 1000 * 2 ** (delivery.attempt - 1));
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.waiting.push({ message: delivery.message, attempt: delivery.attempt + 1 });
      this.pump();
    }, delay);
    timer.unref();
    this.timers.add(timer);
  }
}
