import { randomUUID } from "node:crypto";
import { memoryCounter } from "../core/limit-counter";
import { type Authorization, createAuthorizer } from "./authorize";
import { CallFacts, traceIdOf } from "./facts";
import {
  clientResponseHeaders,
  contentLengthOf,
  isEventStream,
  isSmall,
  upstreamRequestHeaders,
} from "./headers";
import { type Admission, createPolicy } from "./policy";
import { type Call, createCallReport, failure, refusal, tooLarge } from "./refusals";
import { relayBody, requestBody, wholeBodyBytes } from "./relay";
import { createSseSessions } from "./sessions";
import { endpointRewriter } from "./sse";
import { createStreamAdmission, type StreamKind } from "./streams";
import { defaultTimers, secondsToMs, UpstreamDeadline } from "./timers";
import { filterWholeAnswer, withToolsFilter } from "./tool-filter";
import type { Gateway, GatewayOptions, Leaf } from "./types";
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

const streamKind = (leaf: Leaf, method: string, facts: CallFacts): StreamKind | null =>
  leaf === "sse" ? "sse" : method === "GET" ? "get" : method === "POST" && facts.isListen ? "listen" : null;

/**
 * The MCP gateway: authenticates the space's credential, then streams the request to the instance's
 * upstream and its answer back as they arrive (a small one of known length in one piece). Hosts map
 * their own request and response to it: node:http (`node.ts`), the streaming Lambda (`lambda.ts`)
 * and web Request/Response (`fetch.ts`). Its policy (`policy.ts`: tool allow-lists, limits, identity)
 * decides between authorization and the upstream request, from the call's facts (`facts.ts`).
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
    now,
    cacheTtlMs: options.cacheTtlMs ?? 5_000,
  });
  const admitStream = createStreamAdmission(options.mode);
  const { logCall, refuse, served } = createCallReport({
    log,
    now,
    logCompleted: options.logCompleted,
    usage: options.usage,
  });
  const sseSessions = createSseSessions();
  const admitByPolicy = createPolicy({
    counter: options.limitCounter ?? memoryCounter(now),
    now,
    jwks: options.jwks,
  });

  return async function gateway(request) {
    const requestId = request.requestId ?? randomUUID();
    const queryAt = request.target.indexOf("?");
    const path = queryAt < 0 ? request.target : request.target.slice(0, queryAt);
    const query = queryAt < 0 ? "" : request.target.slice(queryAt + 1);
    const match = routePattern.exec(path);
    const call: Call = {
      started: now(),
      requestId,
      fields: {
        requestId,
        traceId: traceIdOf(request.headers),
        method: request.method,
        instanceId: match?.[1],
        route: match?.[2],
      },
    };

    if (!match) return refuse(call, refusal("route_not_found", "No MCP endpoint at this path."));
    const instanceId = match[1]!;
    const leaf = match[2] as Leaf;
    if (!allowedMethods[leaf].includes(request.method)) {
      const allow = allowedMethods[leaf].join(", ");
      const message = `${request.method} is not allowed on this MCP endpoint.`;
      return refuse(call, refusal("method_not_allowed", message, { allow }));
    }
    const declaredLength = contentLengthOf(request.headers);
    if (declaredLength !== null && declaredLength > maxBodyBytes) return refuse(call, tooLarge(maxBodyBytes));

    const authorizing = authorize(request, query, instanceId, leaf);
    const authorization: Authorization = authorizing instanceof Promise ? await authorizing : authorizing;
    if (authorization.grant) {
      call.grant = authorization.grant;
      call.fields.spaceId = authorization.grant.spaceId;
      call.fields.platformId = authorization.grant.platformId;
    }
    if ("error" in authorization) return refuse(call, authorization);
    const { grant, instance, credential } = authorization;

    const { headers, rejected } = upstreamRequestHeaders(request.headers, {
      passThrough: [instance.headers, grant.headers],
      forward: instance.forwardHeaders,
      clientIp: request.clientIp,
      proto: request.protocol,
      requestId,
      contentLength: request.method === "POST" && declaredLength !== null ? String(declaredLength) : null,
    });
    if (rejected.length > 0) {
      log({ level: "warn", msg: "pass-through headers skipped", ...call.fields, headerNames: rejected });
    }

    // Stops the upstream request when the client goes away, the deadline passes or the body is too large.
    const upstreamAbort = new AbortSwitch();
    const clientSignal = request.signal;
    const unfollow = upstreamAbort.follow(clientSignal);
    let tooLargeBody = false;
    const sendMs = secondsToMs(instance.timeouts.timeout, 30);
    const deadline = new UpstreamDeadline(
      timers,
      sendMs,
      secondsToMs(instance.timeouts.sseReadTimeout, 300),
      () => upstreamAbort.abort(),
    );

    let upstream: UpstreamResponse;
    let kind: StreamKind | null = null;
    let stream: { release(): void } | null = null;
    let policy: Admission | null = null;
    /** Lets go of what the call holds: its deadline, the client's signal, its stream's and policy's places. */
    const letGo = () => {
      deadline.clear();
      unfollow();
      stream?.release();
      policy?.release();
    };
    let whole: Uint8Array | null = null;
    let eventStream = false;
    try {
      const body = await requestBody(request, declaredLength, maxBodyBytes, () => {
        tooLargeBody = true;
      });
      const facts = new CallFacts(request.headers, body instanceof Uint8Array ? body : null);
      call.facts = facts;
      const admitting = admitByPolicy(request, facts, grant, instance, leaf, requestId);
      const admission = admitting instanceof Promise ? await admitting : admitting;
      if (admission !== null && "error" in admission) {
        letGo();
        return refuse(call, admission);
      }
      policy = admission;
      if (policy?.headers) Object.assign(headers, policy.headers);
      kind = streamKind(leaf, request.method, facts);
      if (kind !== null) {
        const admitted = admitStream(kind, instance, grant);
        if ("error" in admitted) {
          letGo();
          return refuse(call, admitted);
        }
        stream = admitted;
      }
      upstream = await sendUpstream(sseSessions.upstreamTarget(leaf, instance, query), {
        method: request.method,
        headers,
        body,
        signal: upstreamAbort,
        wholeUpTo: wholeBodyBytes,
        onSent: deadline.onSent,
        maxDecodedBytes: maxBodyBytes,
        pool: { key: instance.id, connectTimeoutMs: sendMs },
      });
      eventStream = isEventStream(upstream.headers);
      // An answer that has all arrived, or a small one of known length, goes to the client in one write.
      if (
        upstream.body &&
        leaf !== "sse" &&
        (upstream.body.complete || (!eventStream && (isSmall(upstream.headers) || policy?.listFilter)))
      ) {
        whole = await upstream.body.bytes();
        if (policy?.listFilter) whole = filterWholeAnswer(whole, eventStream, policy.listFilter);
      }
    } catch (cause) {
      letGo();
      return refuse(call, failure(cause, { tooLargeBody, deadline, clientSignal, maxBodyBytes }));
    }
    deadline.clear();

    if (upstream.status >= 300 && upstream.status < 400) {
      upstream.body?.cancel();
      letGo();
      const message =
        "The MCP server answered with a redirect: set the instance's upstream URL to its final address.";
      return refuse(call, refusal("upstream_redirect", message));
    }

    const status = upstream.status;
    const responseHeaders = clientResponseHeaders(upstream.headers, { streaming: eventStream });
    responseHeaders["x-request-id"] = requestId;
    if (eventStream) responseHeaders["x-accel-buffering"] = "no";

    if (whole !== null || upstream.body === null) {
      letGo();
      logCall(call, status, { outcome: "completed" });
      served(call, status, false, kind !== null);
      if (whole !== null && (policy?.listFilter || !("content-length" in responseHeaders))) {
        responseHeaders["content-length"] = String(whole.byteLength);
      }
      return { status, statusText: upstream.statusText, headers: responseHeaders, body: whole };
    }
    let sessionToForget: string | null = null;
    const endpoints =
      leaf === "sse" && eventStream && status >= 200 && status < 300
        ? endpointRewriter((data) => {
            const announced = sseSessions.announce(instance, data, credential);
            if (announced === null) {
              log({ level: "warn", msg: "SSE endpoint on another origin dropped", ...call.fields });
              return null;
            }
            sessionToForget = announced.key;
            return announced.clientEndpoint;
          })
        : undefined;
    const rewriter = withToolsFilter(endpoints, eventStream ? policy?.listFilter : null);
    const relayed = relayBody(upstream.body.stream(), {
      eventStream,
      rewriter,
      keepaliveMs,
      idleMs: secondsToMs(instance.timeouts.sseReadTimeout, 300),
      maxMs: kind === null ? undefined : instance.streams.maxSeconds * 1000,
      timers,
      clientGone: () => clientSignal.aborted,
      abortUpstream: () => upstreamAbort.abort(),
      onEnd: (outcome) => {
        letGo();
        if (sessionToForget !== null) sseSessions.forget(sessionToForget);
        logCall(call, status, { outcome });
        served(call, status, outcome === "upstream_error" || outcome === "answer_too_large", kind !== null);
      },
    });
    return { status, statusText: upstream.statusText, headers: responseHeaders, body: relayed };
  };
}
