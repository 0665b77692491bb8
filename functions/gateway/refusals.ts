import { AppError, type ErrorCode } from "../core/errors";
import type { CallFacts } from "./facts";
import { DecodedTooLarge } from "./relay";
import type { UpstreamDeadline } from "./timers";
import type { CallOutcome, CallRecord, GatewayAnswer, GatewayGrant, UsageSink } from "./types";
import type { Abortable } from "./upstream";

/** What a call's log line and usage need to know, gathered as it goes. */
export type Call = {
  started: number;
  requestId: string;
  fields: Record<string, unknown>;
  /** The grant whose usage the call counts as, once known. */
  grant?: GatewayGrant;
  /** What the call is, once its body has been read. */
  facts?: CallFacts;
  /** When it ended, once its line or its usage asked: both read the same duration. */
  ended?: number;
};

/** Why a call is not served: an error with its HTTP status, its headers, and what it counts as. */
export type Refusal = {
  error: AppError;
  headers?: Record<string, string>;
  cause?: unknown;
  /** The grant whose usage this refusal counts as. */
  grant?: GatewayGrant;
  /** The space of a credential used against another instance, for the log only. */
  spaceId?: string;
  /** A JSON-RPC answer of its own (a denied tool call), sent instead of the error body. */
  answer?: { status: number; body: unknown };
};

/** A refusal answered with the status the error catalog gives its code at the gateway. */
export const refusal = (code: ErrorCode, message: string, headers?: Record<string, string>): Refusal => ({
  error: new AppError(code, message, { gateway: true }),
  headers,
});

export const tooLarge = (maxBytes: number) =>
  refusal("body_too_large", `The request body is larger than ${Math.round(maxBytes / 1024 / 1024)} MB.`);

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

/** How a call that reached for its upstream failed: the client's body, the deadline, the answer, the network. */
export function failure(
  cause: unknown,
  state: { tooLargeBody: boolean; deadline: UpstreamDeadline; clientSignal: Abortable; maxBodyBytes: number },
): Refusal {
  const megabytes = Math.round(state.maxBodyBytes / 1024 / 1024);
  if (state.tooLargeBody) return tooLarge(state.maxBodyBytes);
  if (state.deadline.expired) {
    const message = state.deadline.sent
      ? "The MCP server did not answer in time."
      : "The MCP server could not be reached, or the request sent to it, in time.";
    return { ...refusal("upstream_timeout", message), cause };
  }
  if (cause instanceof DecodedTooLarge) {
    const message = `The MCP server's answer is larger than ${megabytes} MB once decoded.`;
    return { ...refusal("upstream_answer_too_large", message), cause };
  }
  if (state.clientSignal.aborted) return refusal("client_closed", "The client went away.");
  return { ...refusal("upstream_unreachable", "The MCP server could not be reached."), cause };
}

/** A call's log line and usage: completed calls at debug when asked for, refusals as a rate. */
export function createCallReport(options: {
  log: (entry: Record<string, unknown>) => void;
  now: () => number;
  logCompleted?: boolean;
  usage?: UsageSink;
}) {
  const { log, now } = options;
  const refusals = createRefusalLog({ log, now });

  /** One line for a call, built only when it will be written. */
  function logCall(call: Call, status: number, extra: Record<string, unknown>) {
    // A completed call below 400 is routine: a line per call only when asked for.
    call.ended ??= now();
    const completed = status < 400 && extra.outcome === "completed";
    if (completed && !options.logCompleted) return;
    const level = status >= 500 ? "error" : status >= 400 ? "warn" : completed ? "debug" : "info";
    const line = () => ({
      level,
      msg: "gateway request",
      ...call.fields,
      status,
      durationMs: (call.ended ?? now()) - call.started,
      ...extra,
    });
    // Refusals are logged as a rate; failures each on a line of their own.
    if (status >= 400 && status < 500 && typeof extra.code === "string") refusals.note(extra.code, line);
    else log(line());
  }

  /** Counts a call in its grant's usage, with its duration and the tool it named. */
  function count(call: Call, record: CallRecord) {
    if (!call.grant || !options.usage) return;
    record.durationMs = (call.ended ?? now()) - call.started;
    const facts = call.facts;
    if (facts && facts.method === "tools/call") record.tool = facts.name;
    options.usage.record(call.grant, record);
  }

  /** Counts a call the upstream answered: an error when it answered 5xx or its answer failed. */
  function served(call: Call, status: number, failed: boolean, stream: boolean) {
    const error = status >= 500 || failed;
    count(call, { error, outcome: error ? "upstream_error" : "ok", status, stream });
  }

  /** Answers a refusal or failure; one with a known grant counts as an error in its usage. */
  function refuse(call: Call, { error, headers, cause, answer }: Refusal): GatewayAnswer {
    logCall(call, error.status, { code: error.code, ...(cause ? { cause: describe(cause) } : {}) });
    const { status } = error;
    const outcome = refusalOutcome(status);
    count(
      call,
      status === 499
        ? { error: false, outcome, status }
        : { error: true, refused: status < 500, outcome, status },
    );
    if (answer) {
      const body = Buffer.from(JSON.stringify(answer.body));
      const answerHeaders = { "content-type": "application/json", "x-request-id": call.requestId };
      return {
        status: answer.status,
        headers: { ...answerHeaders, "content-length": String(body.byteLength) },
        body,
      };
    }
    return jsonRpcError(error, call.requestId, headers, call.facts?.id ?? null);
  }

  return { logCall, refuse, served };
}

/** What a refusal counts as: too many calls, no answer in time, the upstream failing, or refused. */
function refusalOutcome(status: number): CallOutcome {
  if (status === 429) return "limited";
  if (status === 504) return "timeout";
  if (status >= 500) return "upstream_error";
  // The client went away: not the call's fault, nor the upstream's.
  if (status === 499) return "ok";
  return "refused";
}
