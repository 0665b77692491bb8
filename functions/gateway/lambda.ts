import type { APIGatewayProxyEvent, Context } from "aws-lambda";
import { storeCounter } from "../core/limit-counter";
import { createGateway, type Gateway, type GatewayRequest } from "./core";
import { bothSinks, createGatewayMetrics } from "./metrics";
import { createStoreResolver, gatewayStoreFromEnv, usageWriter } from "./resolver";
import { AbortSwitch } from "./upstream";
import { createUsageRecorder } from "./usage";

type ResponseStream = awslambda.HttpResponseStream;

/** The call an API Gateway REST (v1) proxy event stands for. */
export function requestFromEvent(
  event: APIGatewayProxyEvent,
  signal: GatewayRequest["signal"],
  requestId?: string,
): GatewayRequest {
  const headers: Record<string, string> = {};
  const multiValueHeaders = event.multiValueHeaders ?? {};
  if (Object.keys(multiValueHeaders).length > 0) {
    for (const [name, values] of Object.entries(multiValueHeaders)) {
      if (!values || values.length === 0) continue;
      const lower = name.toLowerCase();
      const joined = values.join(", ");
      headers[lower] = headers[lower] === undefined ? joined : `${headers[lower]}, ${joined}`;
    }
  } else {
    for (const [name, value] of Object.entries(event.headers ?? {})) {
      if (value !== undefined) headers[name.toLowerCase()] = value;
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
  const search = query.toString();

  const method = event.httpMethod.toUpperCase();
  const body =
    event.body === null || method === "GET" || method === "HEAD"
      ? null
      : Buffer.from(event.body, event.isBase64Encoded ? "base64" : "utf8");
  // The length of what we actually hold, whatever API Gateway said it received.
  if (body) headers["content-length"] = String(body.byteLength);
  else delete headers["content-length"];

  const proto = headers["x-forwarded-proto"]?.split(",")[0]?.trim();
  return {
    method,
    target: search ? `${event.path}?${search}` : event.path,
    headers,
    protocol: proto === "http" ? "http" : "https",
    body,
    // The caller as API Gateway saw it: what the client wrote in X-Forwarded-For is not trusted.
    clientIp: event.requestContext.identity?.sourceIp || undefined,
    signal,
    requestId,
  };
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
 * aborts the call, which aborts the upstream request; a timeout freezes the sandbox with it.
 */
export function createStreamingHandler(gateway: () => Gateway) {
  return async (event: APIGatewayProxyEvent, responseStream: ResponseStream, context: Context) => {
    const clientGone = new AbortSwitch();
    const onStreamFailure = () => clientGone.abort();
    responseStream.on("error", onStreamFailure);
    responseStream.on("close", onStreamFailure);

    const answer = await gateway()(requestFromEvent(event, clientGone, context.awsRequestId));

    const headers: Record<string, string> = {};
    let cookies: string[] = [];
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value === undefined) continue;
      if (name === "set-cookie") cookies = Array.isArray(value) ? value : [String(value)];
      else headers[name] = Array.isArray(value) ? value.join(", ") : String(value);
    }
    const prelude: awslambda.HttpResponsePrelude = {
      statusCode: answer.status,
      headers,
      ...(cookies.length > 0 ? { cookies } : {}),
    };
    const stream = awslambda.HttpResponseStream.from(responseStream, prelude) as ResponseStream;
    // The runtime sends the prelude on the first write: send it now, so headers go out before the body.
    stream.write(new Uint8Array(0));

    const { body } = answer;
    if (body instanceof Uint8Array) {
      if (body.byteLength > 0) stream.write(body);
    } else if (body) {
      try {
        for await (const chunk of body) {
          if (clientGone.aborted) break;
          if (!stream.write(chunk)) await waitForDrain(stream);
        }
      } catch {
        // The client went away or the upstream failed mid-stream: end what was sent.
      } finally {
        body.destroy();
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
let metrics: ReturnType<typeof createGatewayMetrics> | undefined;

const logLevel = (process.env.POWERTOOLS_LOG_LEVEL ?? process.env.LOG_LEVEL ?? "INFO").toUpperCase();
const logLine = (entry: Record<string, unknown>) => console.log(JSON.stringify(entry));

const streaming = createStreamingHandler(() => {
  if (!gateway) {
    const store = gatewayStoreFromEnv();
    usage = createUsageRecorder({ flush: usageWriter(store.store), onError: () => {} });
    metrics = createGatewayMetrics();
    gateway = createGateway({
      resolver: createStoreResolver(store),
      mode: "lambda",
      // Every gateway function counts a space's calls in the same table items.
      limitCounter: storeCounter(store.store),
      usage: bothSinks(usage, metrics),
      log: logLine,
      logCompleted: logLevel === "DEBUG" || logLevel === "TRACE",
    });
  }
  return gateway;
});

export const handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  await streaming(event, responseStream, context);
  metrics?.publish();
  // The response has ended; usage is written here, at most once a minute, while the sandbox runs.
  await usage?.flushIfDue().catch(() => {});
});
