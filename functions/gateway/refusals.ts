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
  /** The request's JSON-RPC id, so the client can match the error to it. */
  id: string | number | null = null,
): GatewayAnswer {
  const body = {
    jsonrpc: "2.0",
    id,
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

/**
 * Refusal lines as a rate: the first refusal of each code in an interval is logged in full, the
 * rest are counted and written as one line with the counts once the interval is over, so a flood of
 * bad credentials costs little and leaves the log readable.
 */
export function createRefusalLog(options: {
  log: (entry: Record<string, unknown>) => void;
  now: () => number;
  intervalMs?: number;
}) {
  const intervalMs = options.intervalMs ?? 60_000;
  let since = options.now();
  let logged = new Set<string>();
  let counts: Record<string, number> = {};
  let suppressed = 0;

  const summarise = (at: number) => {
    if (suppressed > 0) {
      options.log({ level: "warn", msg: "gateway refusals", since: new Date(since).toISOString(), counts });
    }
    since = at;
    logged = new Set();
    counts = {};
    suppressed = 0;
  };

  return {
    note(code: string, line: () => Record<string, unknown>) {
      const at = options.now();
      if (at - since >= intervalMs) summarise(at);
      if (!logged.has(code)) {
        logged.add(code);
        options.log(line());
        return;
      }
      counts[code] = (counts[code] ?? 0) + 1;
      suppressed += 1;
    },
    /** Writes the counts of the current interval now (shutdown, tests). */
    flush: () => summarise(options.now()),
  };
}
