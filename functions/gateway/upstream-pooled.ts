import type { IncomingHttpHeaders } from "node:http";
import { Readable } from "node:stream";
import { type Dispatcher, Pool } from "undici";
import { createBoundedMap } from "./cache";
import { decoded, readAll } from "./relay";
import {
  nullBodyStatuses,
  readsWhole,
  type UpstreamBody,
  type UpstreamClient,
  type UpstreamRequest,
  type UpstreamResponse,
  WholeBody,
} from "./upstream";

/** An answer still arriving on its connection; undici ends it with an error if the connection is cut. */
class PooledBody implements UpstreamBody {
  constructor(
    private readonly body: Readable,
    private readonly encoding: string | string[] | undefined,
    private readonly maxDecodedBytes?: number,
  ) {}

  /** Whether undici has parsed the answer to its end (as a short answer in one packet is, by now). */
  get complete() {
    return (this.body as Readable & { _readableState?: { ended?: boolean } })._readableState?.ended === true;
  }

  stream() {
    return decoded(this.body, this.encoding, this.maxDecodedBytes);
  }

  bytes() {
    return readAll(decoded(this.body, this.encoding, this.maxDecodedBytes));
  }

  cancel() {
    // Undici reports a destroyed body as an abort error: nothing is reading it to hear that.
    this.body.on("error", noop);
    this.body.destroy();
  }
}

/** A URL as the pool wants it, and the pools each caller (instance) reached it through. */
type Target = { origin: string; path: string; pools: Map<string, { pool: Pool; connectTimeoutMs: number }> };

function noop() {}

type Dispatch = Pool["dispatch"];

/**
 * The upstream client of a long-running host: undici's connection pools, which spend markedly less
 * CPU per call than node:http's agent. The same contract as `requestUpstream`, without reason
 * phrases. Each caller's `pool` key (an instance) gets pools of its own, so one instance holding
 * every connection open leaves the others theirs. Undici's header and body timeouts are off: the
 * gateway bounds each call with the instance's.
 */
export function createPooledUpstream(
  options: { connections?: number } = {},
): UpstreamClient & { close(): Promise<void> } {
  const connections = options.connections ?? 128;
  const pools = new Map<string, { pool: Pool; target: Target; key: string }>();
  // An upstream's few URLs are parsed once.
  const targets = createBoundedMap<Target>(1_000);
  const targetOf = (url: string): Target => {
    let target = targets.get(url);
    if (target) return target;
    const parsed = new URL(url);
    target = { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}`, pools: new Map() };
    targets.set(url, target);
    return target;
  };

  const poolFor = (target: Target, key: string, connectTimeoutMs: number): Pool => {
    const known = target.pools.get(key);
    if (known?.connectTimeoutMs === connectTimeoutMs) return known.pool;
    const { origin } = target;
    const id = `${key}\n${origin}\n${connectTimeoutMs}`;
    const shared = pools.get(id);
    if (shared) {
      target.pools.set(key, { pool: shared.pool, connectTimeoutMs });
      return shared.pool;
    }
    // Idle connections close after 4 s, or sooner when the upstream's Keep-Alive hint says so.
    const pool = new Pool(origin, {
      connections,
      keepAliveTimeout: 4_000,
      keepAliveMaxTimeout: 4_000,
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: { timeout: connectTimeoutMs },
    });
    // Undici's request API takes no hook for the moment a request has been written: its handler
    // gets one here, which undici then calls.
    const dispatch: Dispatch = pool.dispatch.bind(pool);
    pool.dispatch = (dispatchOptions, handler) => {
      (handler as { onRequestSent?: () => void }).onRequestSent = (
        dispatchOptions as { onSent?: () => void }
      ).onSent;
      return dispatch(dispatchOptions, handler);
    };
    pools.set(id, { pool, target, key });
    target.pools.set(key, { pool, connectTimeoutMs });
    if (pools.size > 1_000) {
      const [oldest, evicted] = pools.entries().next().value as [
        string,
        { pool: Pool; target: Target; key: string },
      ];
      pools.delete(oldest);
      if (evicted.target.pools.get(evicted.key)?.pool === evicted.pool)
        evicted.target.pools.delete(evicted.key);
      evicted.pool.close().catch(noop);
    }
    return pool;
  };

  const answered = (init: UpstreamRequest, answer: Dispatcher.ResponseData<unknown>) => {
    const status = answer.statusCode;
    const headers = answer.headers as IncomingHttpHeaders;
    if (nullBodyStatuses.has(status) || init.method === "HEAD") {
      answer.body.dump().catch(noop);
      return Promise.resolve({ status, headers, body: null });
    }
    if (readsWhole(headers, init.wholeUpTo ?? -1)) {
      return readAll(answer.body).then((bytes) => ({ status, headers, body: new WholeBody(bytes) }));
    }
    const body = new PooledBody(answer.body, headers["content-encoding"], init.maxDecodedBytes);
    return Promise.resolve({ status, headers, body });
  };

  const request: UpstreamClient = (url, init) =>
    new Promise<UpstreamResponse>((resolve, reject) => {
      const target = targetOf(url);
      const pool = poolFor(target, init.pool?.key ?? "", init.pool?.connectTimeoutMs ?? 10_000);
      const { signal } = init;
      // Undici hears an abort only once a request has a connection: one still waiting for one is
      // given up here, and undici drops it when its turn comes.
      const onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
      signal.addEventListener("abort", onAbort);
      const options = {
        path: target.path,
        method: init.method as "GET",
        headers: init.headers,
        body:
          init.body instanceof Uint8Array || init.body === null
            ? init.body
            : Readable.from(init.body, { objectMode: false }),
        signal,
        onSent: init.onSent,
      } as Parameters<Pool["request"]>[0];
      pool.request(options, (error, answer) => {
        signal.removeEventListener("abort", onAbort);
        if (error) reject(error);
        else if (signal.aborted) answer.body.destroy();
        else answered(init, answer).then(resolve, reject);
      });
    });
  // Closing drops every connection at once, an answer still streaming included.
  return Object.assign(request, {
    close: async () => {
      const all = [...pools.values()];
      pools.clear();
      for (const { target } of all) target.pools.clear();
      await Promise.all(all.map(({ pool }) => pool.destroy()));
    },
  });
}
