import { Readable } from "node:stream";
import type { Gateway } from "./core";
import type { Abortable } from "./upstream";

export interface FetchContext {
  clientIp?: string;
  /** Aborts when the client goes away. Defaults to request.signal. */
  signal?: Abortable;
  requestId?: string;
}

/** The gateway as a web-standard fetch handler: a Request in, a streamed Response out. */
export function fetchGateway(gateway: Gateway) {
  return async (request: Request, context: FetchContext = {}): Promise<Response> => {
    const url = new URL(request.url);
    const headers: Record<string, string> = {};
    for (const [name, value] of request.headers) headers[name] = value;
    const answer = await gateway({
      method: request.method,
      target: `${url.pathname}${url.search}`,
      headers,
      protocol: url.protocol === "https:" ? "https" : "http",
      body: request.body,
      clientIp: context.clientIp,
      signal: context.signal ?? request.signal,
      requestId: context.requestId,
    });
    const responseHeaders = new Headers();
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value === undefined) continue;
      for (const one of Array.isArray(value) ? value : [value]) responseHeaders.append(name, String(one));
    }
    const body =
      answer.body instanceof Readable
        ? (Readable.toWeb(answer.body) as ReadableStream<Uint8Array>)
        : answer.body;
    return new Response(body, {
      status: answer.status,
      statusText: answer.statusText,
      headers: responseHeaders,
    });
  };
}
