import { AppError } from "../core/errors";
import type { GatewayAnswer, GatewayGrant } from "./types";

/** Why a call is not served: an error with its HTTP status, its headers, and what it counts as. */
export type Refusal = {
  error: AppError;
  headers?: Record<string, string>;
  cause?: unknown;
  /** The grant whose usage this refusal counts as. */
  grant?: GatewayGrant;
  /** The space of a credential used against another instance, for the log only. */
  spaceId?: string;
};

export const refusal = (
  status: number,
  code: string,
  message: string,
  headers?: Record<string, string>,
): Refusal => ({
  error: new AppError(code, message, { status }),
  headers,
});

export const tooLarge = (maxBytes: number) =>
  refusal(413, "body_too_large", `The request body is larger than ${Math.round(maxBytes / 1024 / 1024)} MB.`);

/** A refusal or failure as a JSON-RPC error body with its HTTP status. */
export function jsonRpcError(
  error: AppError,
  requestId: string,
  extraHeaders: Record<string, string> = {},
): GatewayAnswer {
  const body = {
    jsonrpc: "2.0",
    id: null,
    error: { code: -32000, message: error.message, data: { code: error.code, requestId } },
  };
  return {
    status: error.status,
    headers: { "content-type": "application/json", "x-request-id": requestId, ...extraHeaders },
    body: Buffer.from(JSON.stringify(body)),
  };
}

/** An error's kind and message for a log line, with its cause's message when it has one. */
export function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.name}: ${error.message}${cause}`;
}
