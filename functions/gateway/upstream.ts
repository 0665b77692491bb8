import http, { type ClientRequest, type IncomingMessage } from "node:http";
import https from "node:https";
import { pipeline, type Readable, type Transform } from "node:stream";
import zlib from "node:zlib";

export interface UpstreamRequest {
  method: string;
  headers: Headers;
  body: ReadableStream<Uint8Array> | null;
  /** Destroys the request, or the response once it has begun. */
  signal: AbortSignal;
}

export interface UpstreamResponse {
  status: number;
  statusText: string;
  headers: Headers;
  /** Chunks as they arrive; cancelling it closes the upstream connection. */
  body: ReadableStream<Uint8Array> | null;
}

// Idle sockets go before the 5 s an upstream server commonly keeps them, as fetch's own pool does.
const agentOptions = { keepAlive: true, maxSockets: 256, scheduling: "lifo", timeout: 4_000 } as const;
const httpAgent = new http.Agent(agentOptions);
const httpsAgent = new https.Agent(agentOptions);

const nullBodyStatuses = new Set([204, 205, 304]);

/**
 * One exchange with an upstream over node:http(s) and keep-alive connections: the request body
 * streamed as it is read, the answer as soon as its headers arrive. Redirects are not followed. Rejects when the connection fails, the request body stream errors or the
 * signal aborts before the response headers.
 */
export function requestUpstream(url: string, init: UpstreamRequest): Promise<UpstreamResponse> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const secure = target.protocol === "https:";
    const headers: Record<string, string> = {};
    for (const [name, value] of init.headers) headers[name] = value;
    const request = (secure ? https : http).request(target, {
      method: init.method,
      headers,
      agent: secure ? httpsAgent : httpAgent,
    });
    const { signal } = init;
    const abort = () => request.destroy(signal.reason ?? new Error("aborted"));
    signal.addEventListener("abort", abort, { once: true });
    request.once("close", () => signal.removeEventListener("abort", abort));
    request.on("error", reject);
    request.once("response", (response) => {
      try {
        resolve({
          status: response.statusCode ?? 502,
          statusText: response.statusMessage ?? "",
          headers: headersOf(response.rawHeaders),
          body:
            nullBodyStatuses.has(response.statusCode ?? 0) || init.method === "HEAD"
              ? discard(response)
              : bodyOf(decoded(response)),
        });
      } catch (error) {
        request.destroy(error as Error);
      }
    });
    if (signal.aborted) abort();
    else if (init.body) void send(request, init.body);
    else request.end();
  });
}

function headersOf(rawHeaders: string[]): Headers {
  const headers = new Headers();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) headers.append(rawHeaders[i]!, rawHeaders[i + 1]!);
  return headers;
}

/** Writes the body stream to the request with backpressure; an error in it destroys the request. */
async function send(request: ClientRequest, body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (request.destroyed) break;
      if (done) {
        request.end();
        return;
      }
      if (!request.write(value)) await drained(request);
    }
    reader.cancel().catch(() => {});
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

function discard(response: IncomingMessage): null {
  response.on("error", () => {});
  response.resume();
  return null;
}

const decoders = new Map<string, () => Transform>([
  ["gzip", () => zlib.createGunzip()],
  ["x-gzip", () => zlib.createGunzip()],
  ["deflate", () => zlib.createInflate()],
  ["br", () => zlib.createBrotliDecompress()],
]);

/** The body decoded as fetch would, for an upstream that compresses though asked for identity. */
function decoded(response: IncomingMessage): Readable {
  const encoding = response.headers["content-encoding"]?.trim().toLowerCase();
  const decoder = encoding === undefined ? undefined : decoders.get(encoding);
  if (!decoder) return response;
  return pipeline(response, decoder(), () => {});
}

function bodyOf(source: Readable): ReadableStream<Uint8Array> {
  let settled = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        controller.error(error);
      };
      source.on("data", (chunk: Buffer) => {
        if (settled) return;
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 0) <= 0) source.pause();
      });
      source.once("end", () => {
        if (settled) return;
        settled = true;
        controller.close();
      });
      source.on("error", fail);
      source.once("close", () => {
        if (!source.readableEnded) fail(new Error("the upstream closed the connection mid-response"));
      });
      source.pause();
    },
    pull() {
      source.resume();
    },
    cancel() {
      settled = true;
      source.destroy();
    },
  });
}
