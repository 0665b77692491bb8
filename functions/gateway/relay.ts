import { pipeline, Readable, Transform } from "node:stream";
import zlib from "node:zlib";
import { atEventBoundary, type endpointRewriter, keepaliveComment, lastBytes } from "./sse";
import type { GatewayRequest, GatewayTimers } from "./types";

export type RelayOutcome =
  | "completed"
  | "client_closed"
  | "idle_timeout"
  | "max_duration"
  | "upstream_error"
  | "answer_too_large";

/** A body read whole up to this size; a larger one, or one of unknown size, is streamed. */
export const wholeBodyBytes = 64 * 1024;

/** A small body of known length, whole. */
export function readWhole(body: NonNullable<GatewayRequest["body"]>): Promise<Uint8Array> {
  if (body instanceof Uint8Array) return Promise.resolve(body);
  if (body instanceof Readable) return readAll(body, () => new Error("the client closed the request body"));
  return (async () => {
    const chunks: Uint8Array[] = [];
    for await (const chunk of body) chunks.push(chunk);
    return Buffer.concat(chunks);
  })();
}

/** The body's chunks, failing once they add up to more than the limit. */
export async function* limitBody(body: AsyncIterable<Uint8Array>, maxBytes: number, onExceeded: () => void) {
  let total = 0;
  for await (const chunk of body) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      onExceeded();
      throw new Error("request body too large");
    }
    yield chunk;
  }
}

/** A body to send upstream: a small one of known length whole, any other as it arrives. */
export function requestBody(
  request: GatewayRequest,
  declaredLength: number | null,
  maxBodyBytes: number,
  onTooLarge: () => void,
) {
  const { body } = request;
  if (request.method !== "POST" || body === null) return null;
  if (declaredLength !== null && declaredLength <= wholeBodyBytes) return readWhole(body);
  if (body instanceof Uint8Array) {
    if (body.byteLength <= maxBodyBytes) return body;
    onTooLarge();
    return Promise.reject(new Error("request body too large"));
  }
  return limitBody(body, maxBodyBytes, onTooLarge);
}

/**
 * The upstream's body as the client's: chunk by chunk as it arrives, keepalive comments between SSE
 * events after keepaliveMs of silence, and an end after idleMs without anything from the upstream.
 * Destroying it (the client went away) aborts the upstream.
 */
export function relayBody(
  source: Readable,
  options: {
    eventStream: boolean;
    rewriter?: ReturnType<typeof endpointRewriter>;
    keepaliveMs: number;
    idleMs: number;
    timers: GatewayTimers;
    clientGone: () => boolean;
    abortUpstream: () => void;
    /** A long-lived stream ends, between two events, after this long. */
    maxMs?: number;
    onEnd: (outcome: RelayOutcome) => void;
  },
): Readable {
  const { timers } = options;
  let ended = false;
  let tail: Uint8Array = new Uint8Array(0);
  let keepaliveTimer: unknown;
  let maxTimer: unknown;

  const end = (outcome: RelayOutcome) => {
    if (ended) return false;
    ended = true;
    timers.clearTimeout(keepaliveTimer);
    timers.clearTimeout(idleTimer);
    timers.clearTimeout(maxTimer);
    options.onEnd(outcome);
    return true;
  };
  /** Ends the client's answer as a whole one and lets the upstream go. */
  const finish = (outcome: RelayOutcome) => {
    if (!end(outcome)) return;
    out.push(null);
    source.destroy();
    options.abortUpstream();
  };
  const out = new Readable({
    read: () => {
      if (!ended) source.resume();
    },
    destroy: (error, callback) => {
      if (end("client_closed")) {
        options.abortUpstream();
        source.destroy();
      }
      callback(error);
    },
  });
  const send = (chunk: Uint8Array) => {
    if (!out.push(chunk)) source.pause();
    if (!options.eventStream) return;
    tail = lastBytes(tail, chunk, 4);
    timers.refresh(keepaliveTimer);
  };
  if (options.eventStream) {
    keepaliveTimer = timers.setTimeout(() => {
      if (ended) return;
      if (atEventBoundary(tail)) send(keepaliveComment);
      else timers.refresh(keepaliveTimer);
    }, options.keepaliveMs);
  }
  const idleTimer = timers.setTimeout(() => finish("idle_timeout"), options.idleMs);
  if (options.maxMs !== undefined) {
    // Past its time the stream waits for the end of the event under way, checking every second.
    const atMax = () => {
      if (atEventBoundary(tail)) finish("max_duration");
      else maxTimer = timers.setTimeout(atMax, 1_000);
    };
    maxTimer = timers.setTimeout(atMax, options.maxMs);
  }
  const fail = (error: Error) => {
    const outcome = error instanceof DecodedTooLarge ? "answer_too_large" : "upstream_error";
    if (!end(options.clientGone() ? "client_closed" : outcome)) return;
    options.abortUpstream();
    out.destroy(error);
  };

  source.on("data", (chunk: Uint8Array) => {
    if (ended) return;
    timers.refresh(idleTimer);
    let chunks: Uint8Array[];
    try {
      chunks = options.rewriter ? options.rewriter.push(chunk) : [chunk];
    } catch (error) {
      fail(error as Error);
      return;
    }
    for (const piece of chunks) if (piece.byteLength > 0) send(piece);
  });
  source.once("end", () => {
    if (!end("completed")) return;
    out.push(null);
  });
  source.on("error", fail);
  source.once("close", () => {
    if (!source.readableEnded) fail(new Error("the upstream closed the connection mid-response"));
  });
  return out;
}

const decoders = new Map<string, () => Transform>([
  ["gzip", () => zlib.createGunzip()],
  ["x-gzip", () => zlib.createGunzip()],
  ["deflate", () => zlib.createInflate()],
  ["br", () => zlib.createBrotliDecompress()],
]);

/**
 * The decoder for an answer's Content-Encoding, when it is one coding this client decodes; such an
 * answer reaches the client decoded.
 */
export function decoderFor(contentEncoding: string | string[] | undefined): (() => Transform) | undefined {
  return typeof contentEncoding === "string" ? decoders.get(contentEncoding.trim().toLowerCase()) : undefined;
}

/** An answer that decoded to more than the gateway holds for one call. */
export class DecodedTooLarge extends Error {
  constructor(readonly maxBytes: number) {
    super(`the answer decodes to more than ${maxBytes} bytes`);
  }
}

/** Passes chunks on until they add up to more than maxBytes, then fails. */
function limited(maxBytes: number): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      total += chunk.byteLength;
      if (total > maxBytes) callback(new DecodedTooLarge(maxBytes));
      else callback(null, chunk);
    },
  });
}

/**
 * The body decoded as fetch would, for an upstream that compresses though asked for identity. What it
 * decodes to is bounded as it flows: a few bytes of brotli can stand for gigabytes.
 */
export function decoded(
  body: Readable,
  contentEncoding: string | string[] | undefined,
  maxBytes = Number.POSITIVE_INFINITY,
): Readable {
  const decoder = decoderFor(contentEncoding);
  if (!decoder) return body;
  if (maxBytes === Number.POSITIVE_INFINITY) return pipeline(body, decoder(), () => {});
  return pipeline(body, decoder(), limited(maxBytes), () => {});
}

export const cutOff = () => new Error("the upstream closed the connection mid-response");

/** A stream's whole content as it arrives; rejects with `cut()` if it closes before its end. */
export function readAll(source: Readable, cut: () => Error = cutOff): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    source.on("data", (chunk: Buffer) => chunks.push(chunk));
    source.once("end", () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    source.once("error", reject);
    source.once("close", () => {
      if (!source.readableEnded) reject(cut());
    });
  });
}
