import type { OutgoingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import type { LimitCounter } from "../core/limit-counter";
import type { IdentitySettings, LimitsOverride, RateLimits, ToolList } from "../core/policy";
import type { StreamSettings } from "../core/streams";
import type { Transport } from "../core/transport";
import type { IncomingHeaders } from "./headers";
import type { Abortable, UpstreamClient } from "./upstream";

export interface GatewayGrant {
  instanceId: string;
  platformId: string;
  spaceId: string;
  /** Lowercase hex sha256 of the credential, as stored. */
  tokenHash: string;
  enabled: boolean;
  /** ISO timestamp, or null for no expiry. */
  expiresAt: string | null;
  /** The space's pass-through headers, decrypted. */
  headers: Record<string, string>;
  /** The space's narrowing of the instance's tools; null or absent keeps the instance's. */
  tools?: ToolList;
  limits?: LimitsOverride;
}

export interface GatewayInstance {
  id: string;
  enabled: boolean;
  /** url is the full MCP endpoint: http://host/mcp (streamable HTTP) or http://host/sse (SSE). */
  upstream: { url: string; transport: Transport };
  /** The instance's default pass-through headers, decrypted. */
  headers: Record<string, string>;
  /** Seconds. */
  timeouts: { timeout: number; sseReadTimeout: number };
  streams: StreamSettings;
  /** Client headers forwarded beyond those MCP needs; lowercase. */
  forwardHeaders: string[];
  /** The tools every space may use at most; null or absent allows all. */
  tools?: ToolList;
  /** Each space's limits unless its own say otherwise. */
  limits?: RateLimits;
  identity?: IdentitySettings;
}

export interface GatewayResolver {
  grantByTokenHash(tokenHash: string): Promise<GatewayGrant | null>;
  instance(instanceId: string): Promise<GatewayInstance | null>;
}

/** How a call ended, as usage counts it. */
export type CallOutcome = "ok" | "upstream_error" | "refused" | "limited" | "timeout";

/** What usage keeps of one call: never its arguments, results, credential or header values. */
export interface CallRecord {
  /** Counts as an error on the grant. */
  error: boolean;
  /** Refused before the upstream: an error, not a use. */
  refused?: boolean;
  outcome?: CallOutcome;
  status?: number;
  durationMs?: number;
  /** The tool a `tools/call` named. */
  tool?: string;
  /** A long-lived stream, whose duration is no latency. */
  stream?: boolean;
}

export interface UsageSink {
  record(grant: { instanceId: string; platformId: string; spaceId: string }, call: CallRecord): void;
}

export interface GatewayTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Starts a timeout's countdown over, whether or not it has fired. */
  refresh(handle: unknown): void;
}

export interface GatewayOptions {
  resolver: GatewayResolver;
  mode: "local" | "lambda";
  /** Clock for the lookup cache and credential expiry. */
  now?: () => number;
  /** How long a lookup (a miss included) is reused: the bound for disable, rotate and delete. */
  cacheTtlMs?: number;
  keepaliveMs?: number;
  /** Drives upstream timeouts, idle stream ends and keepalives. */
  timers?: GatewayTimers;
  usage?: UsageSink;
  /** Structured log lines. Never given a credential or a header value. */
  log?: (entry: Record<string, unknown>) => void;
  /** Also log each completed call (at level "debug"); refused and failed ones are always logged. */
  logCompleted?: boolean;
  maxBodyBytes?: number;
  /** Where rate limits are counted: in this process unless given (DynamoDB on Lambda). */
  limitCounter?: LimitCounter;
  /**
   * Identity verification's key sets: how long one is kept, and how long after a fetch a token
   * signed with an unknown key waits before the set is fetched again.
   */
  jwks?: { cacheMs?: number; cooldownMs?: number };
  /** How requests reach the upstream: node:http by default, undici's pools on a long-running host. */
  upstream?: UpstreamClient;
}

/** A call as its host received it: node:http, a Lambda event or a web Request, each mapped to this. */
export interface GatewayRequest {
  method: string;
  /** Path and query, as on the request line: `/gateway/ins_1/mcp?x=1`. */
  target: string;
  /** Lowercase names. */
  headers: IncomingHeaders;
  /** The scheme the client used, for X-Forwarded-Proto. */
  protocol: "http" | "https";
  /** Read only for POST. */
  body: Uint8Array | Readable | AsyncIterable<Uint8Array> | null;
  clientIp?: string;
  /** Aborts when the client goes away. */
  signal: Abortable;
  requestId?: string;
}

/** What to send back: a small or already complete answer whole, anything else as a stream. */
export interface GatewayAnswer {
  status: number;
  statusText?: string;
  /** Lowercase names; set-cookie as a list. */
  headers: OutgoingHttpHeaders;
  /** A stream ends the call when it ends; destroying it (the client went away) aborts the upstream. */
  body: Uint8Array | Readable | null;
}

export type Gateway = (request: GatewayRequest) => Promise<GatewayAnswer>;

/** The last segment of a gateway path: `mcp` (streamable HTTP), `sse` and its `messages`. */
export type Leaf = "mcp" | "sse" | "messages";
