import http, { type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import https from "node:https";
import { Readable } from "node:stream";
import { createBoundedMap } from "./cache";
import { cutOff, decoded, readAll } from "./relay";

/** What tells a request to stop: an AbortSignal, or an AbortSwitch, which costs far less per call. */
export interface Abortable {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

/**
 * A one-shot abort with the AbortSignal methods the gateway uses. On Node 20 each AbortController
 * costs several microseconds (its signal is made transferable), which adds up on every call.
 */
export class AbortSwitch implements Abortable {
  aborted = false;
  reason: unknown;
  private listeners: (() => void)[] = [];

  abort(reason: unknown = new Error("aborted")) {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    for (const listener of this.listeners.splice(0)) listener();
  }

  addEventListener(_type: "abort", listener: () => void) {
    if (!this.aborted) this.listeners.push(listener);
  }

  removeEventListener(_type: "abort", listener: () => void) {
    const at = this.listeners.indexOf(listener);
    if (at >= 0) this.listeners.splice(at, 1);
  }

  /** Aborts when `signal` does, until the returned function is called. */
  follow(signal: Abortable): () => void {
    if (signal.aborted) {
      this.abort(signal.reason);
      return noop;
    }
    const listener = this.abort.bind(this, undefined);
    signal.addEventListener("abort", listener, { once: true });
    return () => signal.removeEventListener("abort", listener);
  }
}

function noop() {}

export interface UpstreamRequest {
  method: string;
  /** Lowercase names. */
  headers: Record<string, string>;
  /** Sent whole, or streamed chunk by chunk as it is read; an error in the stream fails the request. */
  body: Uint8Array | AsyncIterable<Uint8Array> | null;
  /** Destroys the request, or the response once it has begun. */
  signal: Abortable;
  /**
   * An answer of declared length up to this many bytes, neither an event stream nor compressed, is
   * read whole as it arrives, and the promise resolves once it has: the cheapest way to relay one.
   */
  wholeUpTo?: number;
  /** Called once the request, its body included, has been written to a connection. */
  onSent?: () => void;
  /** A compressed answer fails once it decodes to more than this (the process keeps its memory). */
  maxDecodedBytes?: number;
  /** Keeps this caller's connections apart from every other's: one pool per key, where pooled. */
  pool?: { key: string; connectTimeoutMs: number };
}

export interface UpstreamResponse {
  status: number;
  /** The reason phrase, where the client keeps it. */
  statusText?: string;
  /** Lowercase names; a repeated one joined or as a list, set-cookie always a list. */
  headers: IncomingHttpHeaders;
  /** Null for a status that has none (204, 205, 304) and for HEAD. */
  body: UpstreamBody | null;
}

/** A response body, decoded if the upstream compressed it. Read it one way, once. */
export interface UpstreamBody {
  /** Whether the whole body has already arrived, so reading it whole waits for nothing. */
  readonly complete: boolean;
  /** Chunks as they arrive; destroying the stream closes the upstream connection. */
  stream(): Readable;
  /** The whole body; rejects if the connection ends before it does. */
  bytes(): Promise<Uint8Array>;
  /** Closes the upstream connection without reading on. */
  cancel(): void;
}

/** Sends one request to an upstream; `requestUpstream` is the node:http one. */
export type UpstreamClient = (url: string, init: UpstreamRequest) => Promise<UpstreamResponse>;

// Idle sockets go before the 5 s an upstream server commonly keeps them, as fetch's own pool does.
const agentOptions = { keepAlive: true, maxSockets: 256, scheduling: "lifo", timeout: 4_000 } as const;
const httpAgent = new http.Agent(agentOptions);
const httpsAgent = new https.Agent(agentOptions);

export const nullBodyStatuses: ReadonlySet<number> = new Set([204, 205, 304]);

type Target = { secure: boolean; protocol: string; hostname: string; port: string; path: string };
const targets = createBoundedMap<Target>(1_000);

/** The URL as request options; an upstream's few URLs are parsed once. */
function targetOf(url: string): Target {
  let target = targets.get(url);
  if (target) return target;
  const parsed = new URL(url);
  target = {
    secure: parsed.protocol === "https:",
    protocol: parsed.protocol,
    // A bracketed IPv6 literal goes to the socket without its brackets.
    hostname: parsed.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: parsed.port,
    path: `${parsed.pathname}${parsed.search}`,
  };
  targets.set(url, target);
  return target;
}

/**
 * One exchange with an upstream over node:http(s) and keep-alive connections: the request body sent
 * as it is read, the answer as soon as its headers arrive. Redirects are not followed. Rejects when
 * the connection fails, the request body errors or the signal aborts before the response headers;
 * an abort after them ends the body.
 */
export function requestUpstream(url: string, init: UpstreamRequest): Promise<UpstreamResponse> {
  return new Promise((resolve, reject) => {
    const target = targetOf(url);
    const request = (target.secure ? https : http).request({
      protocol: target.protocol,
      hostname: target.hostname,
      port: target.port,
      path: target.path,
      method: init.method,
      headers: init.headers,
      agent: target.secure ? httpsAgent : httpAgent,
    });
    const { signal } = init;
    const abort = destroyOnAbort.bind(request, signal);
    signal.addEventListener("abort", abort, { once: true });
    request.once("close", () => signal.removeEventListener("abort", abort));
    request.on("error", reject);
    request.once("response", (response) => {
      try {
        const status = response.statusCode ?? 502;
        const empty = nullBodyStatuses.has(status) || init.method === "HEAD";
        if (empty) discard(response);
        else if (readsWhole(response.headers, init.wholeUpTo ?? -1)) {
          readWhole(response, status, resolve, reject);
          return;
        }
        resolve({
          status,
          statusText: response.statusMessage ?? "",
          headers: response.headers,
          body: empty ? null : new StreamedBody(response, init.maxDecodedBytes),
        });
      } catch (error) {
        request.destroy(error as Error);
      }
    });
    if (init.onSent) request.once("finish", init.onSent);
    if (signal.aborted) abort();
    else if (init.body instanceof Uint8Array) request.end(init.body);
    else if (init.body) void send(request, init.body);
    else request.end();
  });
}

/** Writes the body to the request with backpressure; an error in it destroys the request. */
async function send(request: ClientRequest, body: AsyncIterable<Uint8Array>) {
  try {
    for await (const chunk of body) {
      if (request.destroyed) return;
      if (!request.write(chunk)) await drained(request);
    }
    request.end();
  } catch (error) {
    request.destroy(error as Error);
  }
}

const drained = (request: ClientRequest) =>
  new Promise<void>((resolve) => {
    const done = () => {
      request.off("drain", done);
      request.off("close", done);
      resolve();
    };
    request.once("drain", done);
    request.once("close", done);
  });

function destroyOnAbort(this: ClientRequest, signal: Abortable) {
  this.destroy(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
}

/** Whether an answer with these headers is one to read whole (see `UpstreamRequest.wholeUpTo`). */
export function readsWhole(headers: IncomingHttpHeaders, upTo: number) {
  const length = headers["content-length"];
  const type = headers["content-type"];
  return (
    typeof length === "string" &&
    /^\d+$/.test(length) &&
    Number(length) <= upTo &&
    headers["content-encoding"] === undefined &&
    typeof type !== "object" &&
    !/^\s*text\/event-stream/i.test(type ?? "")
  );
}

/** Collects the answer as it arrives, then resolves with it whole. */
function readWhole(
  response: IncomingMessage,
  status: number,
  resolve: (response: UpstreamResponse) => void,
  reject: (error: Error) => void,
) {
  readAll(response).then(
    (bytes) =>
      resolve({
        status,
        statusText: response.statusMessage ?? "",
        headers: response.headers,
        body: new WholeBody(bytes),
      }),
    reject,
  );
}

function discard(response: IncomingMessage) {
  response.on("error", () => {});
  response.resume();
}

// The bodies are classes, not object literals: a getter in a literal gives each body a hidden class
// of its own, which keeps the whole exchange out of the young generation until a full collection.

/** An answer still arriving on its connection. */
class StreamedBody implements UpstreamBody {
  constructor(
    private readonly response: IncomingMessage,
    private readonly maxDecodedBytes?: number,
  ) {}

  get complete() {
    return this.response.complete;
  }

  stream() {
    const { response } = this;
    const source = decoded(response, response.headers["content-encoding"], this.maxDecodedBytes);
    // A connection closed mid-answer ends the stream with an error, never as if it were whole.
    response.once("close", () => {
      if (!response.complete) source.destroy(cutOff());
    });
    return source;
  }

  bytes() {
    return readAll(decoded(this.response, this.response.headers["content-encoding"], this.maxDecodedBytes));
  }

  cancel() {
    this.response.destroy();
  }
}

/** An answer that has arrived whole. */
export class WholeBody implements UpstreamBody {
  readonly complete = true;

  constructor(private readonly whole: Uint8Array) {}

  stream() {
    return Readable.from([this.whole]);
  }

  bytes() {
    return Promise.resolve(this.whole);
  }

  cancel() {}
}
