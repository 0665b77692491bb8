import { headerValue, type IncomingHeaders } from "./headers";

export type Message = { id?: unknown; method?: unknown; params?: { name?: unknown } };

/**
 * What a call is, read once and only when asked: from `Mcp-Method` and `Mcp-Name` when the client
 * sends them (MCP 2026-07-28), from the JSON-RPC body otherwise. Usage, and a policy (tool
 * allow-lists, limits, identity) where one applies, read the same facts.
 */
export class CallFacts {
  private message: Message | null | undefined;
  private batch: Message[] | null = null;

  constructor(
    private readonly headers: IncomingHeaders,
    /** The request body when it was read whole; a streamed one is never parsed. */
    private readonly body: Uint8Array | null,
  ) {}

  /** The method as the client's `Mcp-Method` header names it, if it sent one. */
  get headerMethod(): string | undefined {
    return headerValue(this.headers, "mcp-method") || undefined;
  }

  /** The JSON-RPC method, e.g. `tools/call`. */
  get method(): string | undefined {
    const header = headerValue(this.headers, "mcp-method");
    if (header) return header;
    const method = this.parsed()?.method;
    return typeof method === "string" ? method : undefined;
  }

  /** The tool, prompt or resource a call names. */
  get name(): string | undefined {
    const header = headerValue(this.headers, "mcp-name");
    if (header) return header;
    const name = this.parsed()?.params?.name;
    return typeof name === "string" ? name : undefined;
  }

  /** The request's JSON-RPC id, for an error body the client can match; null when it had none. */
  get id(): string | number | null {
    const id = this.parsed()?.id;
    return typeof id === "string" || typeof id === "number" ? id : null;
  }

  /** The body's JSON-RPC messages: its one message, or each of a batch; none when it is not JSON. */
  get messages(): Message[] {
    const message = this.parsed();
    return message ? [message] : (this.batch ?? []);
  }

  /** Whether the call opens a 2026-07-28 subscription stream; the body is parsed only when it may. */
  get isListen(): boolean {
    const header = headerValue(this.headers, "mcp-method");
    if (header) return header === "subscriptions/listen";
    if (!this.body || bufferOf(this.body).indexOf(listen) < 0) return false;
    return this.method === "subscriptions/listen";
  }

  private parsed(): Message | null {
    if (this.message !== undefined) return this.message;
    this.message = null;
    if (!this.body) return null;
    try {
      const value: unknown = JSON.parse(bufferOf(this.body).toString("utf8"));
      if (Array.isArray(value)) this.batch = value.filter((item) => item && typeof item === "object");
      else if (value && typeof value === "object") this.message = value as Message;
    } catch {
      // Not JSON: the upstream answers it with its own error.
    }
    return this.message;
  }
}

const listen = Buffer.from("subscriptions/listen");

const bufferOf = (bytes: Uint8Array) =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/**
 * The trace a call belongs to, for its log lines: the W3C `traceparent`'s trace id (passed on to the
 * upstream as it came), or the root of an AWS X-Ray header when only API Gateway set one.
 */
export function traceIdOf(headers: IncomingHeaders): string | undefined {
  const parent = headerValue(headers, "traceparent");
  if (parent && parent.length >= 55 && parent[2] === "-") return parent.slice(3, 35);
  const amazon = headerValue(headers, "x-amzn-trace-id");
  if (!amazon) return undefined;
  const root = /(?:^|;)Root=([^;]+)/.exec(amazon);
  return root?.[1];
}
