import { randomUUID } from "node:crypto";
import { type Authorization, createAuthorizer } from "./authorize";
import {
  clientResponseHeaders,
  contentLengthOf,
  isEventStream,
  isSmall,
  upstreamRequestHeaders,
} from "./headers";
import { describe, jsonRpcError, type Refusal, refusal, tooLarge } from "./refusals";
import { relayBody, requestBody, wholeBodyBytes } from "./relay";
import { createSseSessions } from "./sessions";
import { endpointRewriter } from "./sse";
import {
  defaultTimers,
  type Gateway,
  type GatewayAnswer,
  type GatewayGrant,
  type GatewayOptions,
  type Leaf,
} from "./types";
import { AbortSwitch, requestUpstream, type UpstreamResponse } from "./upstream";

export { jsonRpcError } from "./refusals";
export type * from "./types";

const allowedMethods: Record<Leaf, string[]> = {
  mcp: ["POST", "GET", "DELETE"],
  sse: ["GET"],
  messages: ["POST"],
};

const routePattern = /^\/gateway\/([A-Za-z0-9_-]{1,128})\/(mcp|sse|messages)$/;
const noop = () => {};

export const defaultMaxBodyBytes = 8 * 1024 * 1024;

/** What a call's log line and usage need to know, gathered as it goes. */
type Call = {
  started: number;
  requestId: string;
  fields: Record<string, unknown>;
  /** The grant whose usage the call counts as, once known. */
  grant?: GatewayGrant;
};

const secondsToMs = (seconds: number, fallback: number) =>
  (Number.isFinite(seconds) && seconds > 0 ? seconds : fallback) * 1000;

/**
 * The MCP gateway: authenticates the space's credential, then streams the request to the instance's
 * upstream and its answer back as they arrive (a small one of known length in one piece). Hosts map
 * their own request and response to it: node:http (`node.ts`), the streaming Lambda (`lambda.ts`)
 * and web Request/Response (`fetch.ts`).
 */
export function createGateway(options: GatewayOptions): Gateway {
  const now = options.now ?? Date.now;
  const timers = options.timers ?? defaultTimers;
  const keepaliveMs = options.keepaliveMs ?? 25_000;
  const maxBodyBytes = options.maxBodyBytes ?? defaultMaxBodyBytes;
  const log = options.log ?? noop;
  const sendUpstream = options.upstream ?? requestUpstream;
  const authorize = createAuthorizer({
    resolver: options.resolver,
    mode: options.mode,
    now,
    cacheTtlMs: options.cacheTtlMs ?? 5_000,
  });
  const sseSessions = createSseSessions();

  /** One line for a call, built only when it will be written. */
  function logCall(call: Call, status: number, extra: Record<string, unknown>) {
    // A completed call below 400 is routine: a line per call only when asked for.
    const completed = status < 400 && extra.outcome === "completed";
    if (completed && !options.logCompleted) return;
    log({
      level: status >= 500 ? "error" : status >= 400 ? "warn" : completed ? "debug" : "info",
      msg: "gateway request",
      ...call.fields,
      status,
      durationMs: now() - call.started,
      ...extra,
    });
  }

  function refuse(call: Call, { error, headers, cause }: Refusal): GatewayAnswer {
    logCall(call, error.status, { code: error.code, ...(cause ? { cause: describe(cause) } : {}) });
    if (call.grant) options.usage?.record(call.grant, { error: error.status >= 500 });
    return jsonRpcError(error, call.requestId, headers);
  }

  return async function gateway(request) {
    const requestId = request.requestId ?? randomUUID();
    const queryAt = request.target.indexOf("?");
    const path = queryAt < 0 ? request.target : request.target.slice(0, queryAt);
    const query = queryAt < 0 ? "" : request.target.slice(queryAt + 1);
    const match = routePattern.exec(path);
    const call: Call = {
      started: now(),
      requestId,
      fields: { requestId, method: request.method, instanceId: match?.[1], route: match?.[2] },
    };

    if (!match) return refuse(call, refusal(404, "route_not_found", "No MCP endpoint at this path."));
    const instanceId = match[1]!;
    const leaf = match[2] as Leaf;
    if (!allowedMethods[leaf].includes(request.method)) {
      return refuse(
        call,
        refusal(405, "method_not_allowed", `${request.method} is not allowed on this MCP endpoint.`, {
          allow: allowedMethods[leaf].join(", "),
        }),
      );
    }
    const declaredLength = contentLengthOf(request.headers);
    if (declaredLength !== null && declaredLength > maxBodyBytes) return refuse(call, tooLarge(maxBodyBytes));

    const authorizing = authorize(request, query, instanceId, leaf);
    const authorization: Authorization = authorizing instanceof Promise ? await authorizing : authorizing;
    if (authorization.grant) {
      call.grant = authorization.grant;
      call.fields.spaceId = authorization.grant.spaceId;
      call.fields.platformId = authorization.grant.platformId;
    } else if ("spaceId" in authorization) {
      call.fields.spaceId = authorization.spaceId;
    }
    if ("error" in authorization) return refuse(call, authorization);
    const { grant, instance, credential } = authorization;

    const { headers, rejected } = upstreamRequestHeaders(request.headers, {
      passThrough: [instance.headers, grant.headers],
      clientIp: request.clientIp,
      proto: request.protocol,
      requestId,
      contentLength: request.method === "POST" && declaredLength !== null ? String(declaredLength) : null,
    });
    if (rejected.length > 0) {
      log({ level: "warn", msg: "pass-through headers skipped", ...call.fields, headerNames: rejected });
    }

    // Stops the upstream request when the client goes away, the timeout passes or the body is too large.
    const upstreamAbort = new AbortSwitch();
    const clientSignal = request.signal;
    const unfollow = upstreamAbort.follow(clientSignal);
    let failure: "timeout" | "too_large" | null = null;
    const connectTimer = timers.setTimeout(
      () => {
        failure = "timeout";
        upstreamAbort.abort();
      },
      secondsToMs(instance.timeouts.timeout, 30),
    );

    let upstream: UpstreamResponse;
    let eventStream = false;
    let whole: Uint8Array | null = null;
    try {
      upstream = await sendUpstream(sseSessions.upstreamTarget(leaf, instance, query), {
        method: request.method,
        headers,
        body: await requestBody(request, declaredLength, maxBodyBytes, () => {
          failure = "too_large";
        }),
        signal: upstreamAbort,
        wholeUpTo: wholeBodyBytes,
      });
      eventStream = isEventStream(upstream.headers);
      // An answer that has all arrived, or a small one of known length, goes to the client in one write.
      if (
        upstream.body &&
        leaf !== "sse" &&
        (upstream.body.complete || (!eventStream && isSmall(upstream.headers)))
      ) {
        whole = await upstream.body.bytes();
      }
    } catch (cause) {
      timers.clearTimeout(connectTimer);
      unfollow();
      const reason = failure as "timeout" | "too_large" | null;
      if (reason === "too_large") return refuse(call, tooLarge(maxBodyBytes));
      if (reason === "timeout") {
        return refuse(call, {
          ...refusal(504, "upstream_timeout", "The MCP server did not answer in time."),
          cause,
        });
      }
      if (clientSignal.aborted) return refuse(call, refusal(499, "client_closed", "The client went away."));
      return refuse(call, {
        ...refusal(502, "upstream_unreachable", "The MCP server could not be reached."),
        cause,
      });
    }
    timers.clearTimeout(connectTimer);

    if (upstream.status >= 300 && upstream.status < 400) {
      upstream.body?.cancel();
      unfollow();
      return refuse(
        call,
        refusal(
          502,
          "upstream_redirect",
          "The MCP server answered with a redirect: set the instance's upstream URL to its final address.",
        ),
      );
    }

    const status = upstream.status;
    const responseHeaders = clientResponseHeaders(upstream.headers, { streaming: eventStream });
    responseHeaders["x-request-id"] = requestId;
    if (eventStream) responseHeaders["x-accel-buffering"] = "no";

    if (whole !== null || upstream.body === null) {
      unfollow();
      logCall(call, status, { outcome: "completed" });
      options.usage?.record(grant, { error: status >= 500 });
      if (whole !== null && !("content-length" in responseHeaders)) {
        responseHeaders["content-length"] = String(whole.byteLength);
      }
      return { status, statusText: upstream.statusText, headers: responseHeaders, body: whole };
    }
    let sessionToForget: string | null = null;
    const rewriter =
      leaf === "sse" && eventStream && status >= 200 && status < 300
        ? endpointRewriter((data) => {
            const { key, clientEndpoint } = sseSessions.announce(instance, data, credential);
            sessionToForget = key;
            return clientEndpoint;
          })
        : undefined;
    const relayed = relayBody(upstream.body.stream(), {
      eventStream,
      rewriter,
      keepaliveMs,
      idleMs: secondsToMs(instance.timeouts.sseReadTimeout, 300),
      timers,
      clientGone: () => clientSignal.aborted,
      abortUpstream: () => upstreamAbort.abort(),
      onEnd: (outcome) => {
        unfollow();
        if (sessionToForget !== null) sseSessions.forget(sessionToForget);
        logCall(call, status, { outcome });
        options.usage?.record(grant, { error: status >= 500 || outcome === "upstream_error" });
      },
    });
    return { status, statusText: upstream.statusText, headers: responseHeaders, body: relayed };
  };
}
