import type { APIGatewayProxyEvent, Context } from "aws-lambda";
import { createGateway, type Gateway } from "./handler";
import { createStoreResolver, gatewayStoreFromEnv, usageWriter } from "./resolver";
import { createUsageRecorder } from "./usage";

type ResponseStream = awslambda.HttpResponseStream;

/** The web Request an API Gateway REST (v1) proxy event stands for. */
export function requestFromEvent(event: APIGatewayProxyEvent, signal?: AbortSignal): Request {
  const headers = new Headers();
  const multiValueHeaders = event.multiValueHeaders ?? {};
  if (Object.keys(multiValueHeaders).length > 0) {
    for (const [name, values] of Object.entries(multiValueHeaders)) {
      for (const value of values ?? []) headers.append(name, value);
    }
  } else {
    for (const [name, value] of Object.entries(event.headers ?? {})) {
      if (value !== undefined) headers.set(name, value);
    }
  }

  const query = new URLSearchParams();
  const multiValueQuery = event.multiValueQueryStringParameters;
  if (multiValueQuery) {
    for (const [name, values] of Object.entries(multiValueQuery)) {
      for (const value of values ?? []) query.append(name, value);
    }
  } else {
    for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) {
      if (value !== undefined) query.append(name, value);
    }
  }

  const proto = headers.get("x-forwarded-proto")?.split(",")[0]?.trim() || "https";
  const host = headers.get("host") ?? event.requestContext.domainName ?? "localhost";
  const url = new URL(`${proto}://${host}`);
  url.pathname = event.path;
  url.search = query.toString();

  const method = event.httpMethod.toUpperCase();
  const body =
    event.body === null || method === "GET" || method === "HEAD"
      ? null
      : Buffer.from(event.body, event.isBase64Encoded ? "base64" : "utf8");
  // The length of what we actually hold, whatever API Gateway said it received.
  if (body) headers.set("content-length", String(body.byteLength));
  else headers.delete("content-length");
  return new Request(url, { method, headers, body, signal, duplex: "half" } as RequestInit);
}

const waitForDrain = (stream: ResponseStream) =>
  new Promise<void>((resolve, reject) => {
    const settle = (error?: unknown) => {
      stream.off("drain", onDrain);
      stream.off("error", onError);
      stream.off("close", onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => settle();
    const onError = (error: unknown) => settle(error);
    const onClose = () => settle(new Error("response stream closed"));
    stream.once("drain", onDrain);
    stream.once("error", onError);
    stream.once("close", onClose);
  });

/**
 * The streaming Lambda handler around a gateway. API Gateway does not tell the function when the
 * client goes away: the function keeps streaming until a write to the response stream fails (the
 * keepalive comments every 25 s make sure one is attempted) or the function times out. A failed write
 * aborts the request, which aborts the upstream request; a timeout freezes the sandbox with it.
 */
export function createStreamingHandler(gateway: () => Gateway) {
  return async (event: APIGatewayProxyEvent, responseStream: ResponseStream, context: Context) => {
    const clientGone = new AbortController();
    const onStreamFailure = () => clientGone.abort();
    responseStream.on("error", onStreamFailure);
    responseStream.on("close", onStreamFailure);

    const request = requestFromEvent(event, clientGone.signal);
    const sourceIp = event.requestContext.identity?.sourceIp;
    // API Gateway's X-Forwarded-For already ends with the caller's address.
    const lastHop = request.headers.get("x-forwarded-for")?.split(",").at(-1)?.trim();
    const response = await gateway()(request, {
      clientIp: sourceIp && sourceIp !== lastHop ? sourceIp : undefined,
      signal: clientGone.signal,
      requestId: context.awsRequestId,
    });

    const headers: Record<string, string> = {};
    for (const [name, value] of response.headers) if (name !== "set-cookie") headers[name] = value;
    const cookies = response.headers.getSetCookie();
    const prelude: awslambda.HttpResponsePrelude = {
      statusCode: response.status,
      headers,
      ...(cookies.length > 0 ? { cookies } : {}),
    };
    const stream = awslambda.HttpResponseStream.from(responseStream, prelude) as ResponseStream;
    // The runtime sends the prelude on the first write: send it now, so headers go out before the body.
    stream.write(new Uint8Array(0));

    if (response.body) {
      const reader = response.body.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done || clientGone.signal.aborted) break;
          if (!stream.write(value)) await waitForDrain(stream);
        }
      } catch {
        // The client went away or the upstream failed mid-stream: end what was sent.
      } finally {
        reader.cancel().catch(() => {});
      }
    }
    responseStream.off("close", onStreamFailure);
    if (!stream.writableEnded && !stream.destroyed) {
      await new Promise<void>((resolve) => stream.end(() => resolve()));
    }
    responseStream.off("error", onStreamFailure);
  };
}

let gateway: Gateway | undefined;
let usage: ReturnType<typeof createUsageRecorder> | undefined;

const logLevel = (process.env.POWERTOOLS_LOG_LEVEL ?? process.env.LOG_LEVEL ?? "INFO").toUpperCase();
const logLine = (entry: Record<string, unknown>) => console.log(JSON.stringify(entry));

const streaming = createStreamingHandler(() => {
  if (!gateway) {
    const store = gatewayStoreFromEnv();
    usage = createUsageRecorder({ flush: usageWriter(store.store), onError: () => {} });
    gateway = createGateway({
      resolver: createStoreResolver(store),
      mode: "lambda",
      usage,
      log: logLine,
      logCompleted: logLevel === "DEBUG" || logLevel === "TRACE",
    });
  }
  return gateway;
});

export const handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  await streaming(event, responseStream, context);
  // The response has ended; usage is written here, at most once a minute, while the sandbox runs.
  await usage?.flushIfDue().catch(() => {});
});
