import type { IncomingHttpHeaders } from "node:http";
import { Readable } from "node:stream";
import { Agent } from "undici";
import { createBoundedMap } from "./cache";
import { decoded, readAll } from "./relay";
import { nullBodyStatuses, readsWhole, type UpstreamBody, type UpstreamClient, WholeBody } from "./upstream";

/** An answer still arriving on its connection; undici ends it with an error if the connection is cut. */
class PooledBody implements UpstreamBody {
  constructor(
    private readonly body: Readable,
    private readonly encoding: string | string[] | undefined,
  ) {}

  /** Whether undici has parsed the answer to its end (as a short answer in one packet is, by now). */
  get complete() {
    return (this.body as Readable & { _readableState?: { ended?: boolean } })._readableState?.ended === true;
  }

  stream() {
    return decoded(this.body, this.encoding);
  }

  bytes() {
    return readAll(decoded(this.body, this.encoding));
  }

  cancel() {
    // Undici reports a destroyed body as an abort error: nothing is reading it to hear that.
    this.body.on("error", noop);
    this.body.destroy();
  }
}

type Target = { origin: string; path: string };

function noop() {}

/**
 * The upstream client of a long-running host: undici's connection pools, which spend markedly less
 * CPU per call than node:http's agent. The same contract as `requestUpstream`, without reason
 * phrases. Undici's own timeouts are off: the gateway bounds each call with the instance's.
 */
export function createPooledUpstream(): UpstreamClient & { close(): Promise<void> } {
  // Idle connections close after 4 s, or sooner when the upstream's Keep-Alive hint says so.
  const agent = new Agent({
    connections: 256,
    keepAliveTimeout: 4_000,
    keepAliveMaxTimeout: 4_000,
    headersTimeout: 0,
    bodyTimeout: 0,
    connectTimeout: 0,
  });
  // An upstream's few URLs are parsed once.
  const targets = createBoundedMap<Target>(1_000);
  const targetOf = (url: string): Target => {
    let target = targets.get(url);
    if (target) return target;
    const parsed = new URL(url);
    target = { origin: parsed.origin, path: `${parsed.pathname}${parsed.search}` };
    targets.set(url, target);
    return target;
  };

  const request: UpstreamClient = async (url, init) => {
    const { origin, path } = targetOf(url);
    const answer = await agent.request({
      origin,
      path,
      method: init.method as "GET",
      headers: init.headers,
      body:
        init.body instanceof Uint8Array || init.body === null
          ? init.body
          : Readable.from(init.body, { objectMode: false }),
      signal: init.signal,
    });
    const status = answer.statusCode;
    const headers = answer.headers as IncomingHttpHeaders;
    if (nullBodyStatuses.has(status) || init.method === "HEAD") {
      answer.body.dump().catch(noop);
      return { status, headers, body: null };
    }
    if (readsWhole(headers, init.wholeUpTo ?? -1)) {
      return { status, headers, body: new WholeBody(await readAll(answer.body)) };
    }
    return { status, headers, body: new PooledBody(answer.body, headers["content-encoding"]) };
  };
  // Closing drops every connection at once, an answer still streaming included.
  return Object.assign(request, { close: () => agent.destroy() });
}
