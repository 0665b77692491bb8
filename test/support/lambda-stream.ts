import { Writable } from "node:stream";
import type { APIGatewayProxyEvent, Context } from "aws-lambda";
import { lambdaContext } from "./lambda-events";

export { lambdaContext, restProxyEvent } from "./lambda-events";

const preludeContentType = "application/vnd.awslambda.http-integration-response";
const delimiter = Buffer.alloc(8);
const streamingMarker = Symbol.for("aws.lambda.runtime.handler.streaming");

type StreamingHandler = (event: APIGatewayProxyEvent, responseStream: never, context: Context) => unknown;

/**
 * A response stream that behaves like the Lambda runtime's: `setContentType` before the first write,
 * the `_onBeforeFirstWrite` hook that HttpResponseStream.from installs, and every byte recorded in the
 * order it arrived.
 */
export class RecordingResponseStream extends Writable {
  contentType = "application/octet-stream";
  readonly chunks: Buffer[] = [];
  _onBeforeFirstWrite?: (write: (chunk: string | Uint8Array) => void) => void;
  private written = false;
  private readonly waiters = new Set<() => void>();

  constructor() {
    super({ highWaterMark: 16 * 1024 });
  }

  setContentType(contentType: string) {
    if (this.written) throw new Error("Cannot set content-type, too late.");
    this.contentType = contentType;
  }

  override write(chunk: unknown, ...rest: unknown[]): boolean {
    if (!this.written && typeof this._onBeforeFirstWrite === "function") {
      this._onBeforeFirstWrite((first) => super.write(first));
    }
    this.written = true;
    return (super.write as (...args: unknown[]) => boolean)(chunk, ...rest);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void) {
    if (chunk.length > 0) this.chunks.push(Buffer.from(chunk));
    for (const waiter of this.waiters) waiter();
    callback();
  }

  override _final(callback: (error?: Error | null) => void) {
    callback();
    for (const waiter of this.waiters) waiter();
  }

  /** Everything received so far, split at the prelude delimiter when there is one. */
  received(): { prelude: awslambda.HttpResponsePrelude | null; body: string; bodyChunks: Buffer[] } {
    const all = Buffer.concat(this.chunks);
    const at = this.contentType === preludeContentType ? all.indexOf(delimiter) : -1;
    if (at < 0) return { prelude: null, body: all.toString("utf8"), bodyChunks: this.chunks };
    const prelude = JSON.parse(all.subarray(0, at).toString("utf8")) as awslambda.HttpResponsePrelude;
    // Body chunks: the chunks written after the prelude and the delimiter.
    let offset = 0;
    const bodyChunks: Buffer[] = [];
    for (const chunk of this.chunks) {
      const start = Math.max(0, at + delimiter.length - offset);
      if (start < chunk.length) bodyChunks.push(chunk.subarray(start));
      offset += chunk.length;
    }
    return { prelude, body: all.subarray(at + delimiter.length).toString("utf8"), bodyChunks };
  }

  /** Resolves once what was received satisfies the predicate; rejects if the stream ends first. */
  waitFor(predicate: (received: ReturnType<RecordingResponseStream["received"]>) => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (predicate(this.received())) {
          this.waiters.delete(check);
          resolve();
        } else if (this.writableFinished || this.destroyed) {
          this.waiters.delete(check);
          reject(new Error(`stream ended without the expected content: ${this.received().body}`));
        }
      };
      this.waiters.add(check);
      check();
    });
  }

  /** What the runtime sees when API Gateway's connection to the client is gone: writes fail. */
  disconnect() {
    this.destroy(new Error("client disconnected"));
    for (const waiter of this.waiters) waiter();
  }
}

/** Installs the `awslambda` global of the Lambda Node.js runtime (response streaming). */
export function installAwsLambdaGlobal() {
  const awslambdaGlobal = {
    streamifyResponse<T extends StreamingHandler>(handler: T): T {
      Object.defineProperty(handler, streamingMarker, { value: "response" });
      return handler;
    },
    HttpResponseStream: {
      from(stream: RecordingResponseStream, prelude: Record<string, unknown>) {
        stream.setContentType(preludeContentType);
        const metadata = JSON.stringify(prelude);
        stream._onBeforeFirstWrite = (write) => {
          write(metadata);
          write(new Uint8Array(delimiter.length));
        };
        return stream;
      },
    },
  };
  (globalThis as Record<string, unknown>).awslambda = awslambdaGlobal;
}

/** Calls a streaming handler as the runtime would; `done` settles when the handler returns. */
export function invokeStreaming(
  handler: StreamingHandler,
  event: APIGatewayProxyEvent,
  context = lambdaContext(),
) {
  const stream = new RecordingResponseStream();
  const done = Promise.resolve(handler(event, stream as never, context));
  return { stream, done };
}

/** API Gateway's requestTime format: 09/Apr/2015:12:34:56 +0000. */
