import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { AppError } from "../core/errors";
import { type Gateway, type GatewayAnswer, jsonRpcError } from "./core";
import { AbortSwitch } from "./upstream";

/**
 * The gateway as a node:http request listener: the request's own headers and body stream go in, the
 * answer is written as it arrives. The client going away (the response closing unfinished) aborts
 * the call.
 */
export function nodeGateway(gateway: Gateway, options: { onError?: (error: unknown) => void } = {}) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const clientGone = new AbortSwitch();
    res.once("close", () => {
      if (!res.writableFinished) clientGone.abort();
    });
    gateway({
      method: req.method ?? "GET",
      target: req.url ?? "/",
      headers: req.headers,
      protocol: (req.socket as TLSSocket).encrypted ? "https" : "http",
      body: req,
      clientIp: req.socket.remoteAddress,
      signal: clientGone,
    })
      .then((answer) => writeAnswer(res, answer))
      .catch((error: unknown) => {
        options.onError?.(error);
        if (res.headersSent || res.destroyed) res.destroy();
        else writeAnswer(res, jsonRpcError(failed, randomUUID()));
      });
  };
}

const failed = new AppError("gateway_failed", "The gateway failed unexpectedly; try again.");

function writeAnswer(res: ServerResponse, answer: GatewayAnswer) {
  if (res.destroyed) {
    if (answer.body && !(answer.body instanceof Uint8Array)) answer.body.destroy();
    return;
  }
  res.writeHead(answer.status, answer.statusText, answer.headers);
  const { body } = answer;
  if (body === null || body instanceof Uint8Array) {
    res.end(body);
    return;
  }
  // The status and headers go now: a client waits on them before the first event.
  res.flushHeaders();
  // An upstream failing mid-answer cuts the client's answer short, so it is not taken as whole. A
  // client going away aborts the call through its signal, which ends the body.
  body.once("error", () => res.destroy());
  res.once("error", () => body.destroy());
  body.pipe(res);
}
