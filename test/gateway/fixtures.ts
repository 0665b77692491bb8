import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type {
  GatewayGrant,
  GatewayInstance,
  GatewayResolver,
  GatewayTimers,
} from "../../functions/gateway/core";

export class MemoryResolver implements GatewayResolver {
  readonly grants = new Map<string, GatewayGrant>();
  readonly instances = new Map<string, GatewayInstance>();
  async grantByTokenHash(tokenHash: string) {
    return this.grants.get(tokenHash) ?? null;
  }
  async instance(instanceId: string) {
    return this.instances.get(instanceId) ?? null;
  }
}

/** Timers that only fire when the test advances them. */
export function manualTimers() {
  let at = 0;
  let sequence = 0;
  const timeouts = new Map<number, { ms: number; callback: () => void }>();
  const pending = new Map<number, number>();
  const timers: GatewayTimers & { advance(ms: number): void } = {
    setTimeout(callback, ms) {
      sequence += 1;
      timeouts.set(sequence, { ms, callback });
      pending.set(sequence, at + ms);
      return sequence;
    },
    clearTimeout(handle) {
      pending.delete(handle as number);
      timeouts.delete(handle as number);
    },
    refresh(handle) {
      const timeout = timeouts.get(handle as number);
      if (timeout) pending.set(handle as number, at + timeout.ms);
    },
    advance(ms) {
      const target = at + ms;
      for (;;) {
        const next = [...pending.entries()]
          .filter(([, due]) => due <= target)
          .sort(([, a], [, b]) => a - b)[0];
        if (!next) break;
        pending.delete(next[0]);
        at = next[1];
        timeouts.get(next[0])?.callback();
      }
      at = target;
    },
  };
  return timers;
}

/** Listens on a free loopback port until the test's cleanups run; returns the base URL. */
export async function listenOnLoopback(server: Server, cleanups: Array<() => unknown>) {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
