import type { LimitCounter } from "../core/limit-counter";
import { allowedTools, type IdentitySettings, limitsOf } from "../core/policy";
import type { CallFacts, Message } from "./facts";
import { createIdentity } from "./identity";
import { type Refusal, refusal } from "./refusals";
import type { GatewayGrant, GatewayInstance, GatewayRequest, Leaf } from "./types";

/** A call the policy lets through: headers for the upstream, the tools its answer may list, a release. */
export interface Admission {
  headers: Record<string, string> | null;
  /** Tools the answer may list; null when it is passed on as it is. */
  listFilter: ReadonlySet<string> | null;
  /** Ends the call's place among the space's concurrent calls. */
  release(): void;
}

const minuteMs = 60_000;
// A call still in flight when its window ends is no longer counted: a lost release costs 15 minutes at most.
const concurrencyWindowMs = 15 * minuteMs;
const nothingHeld = () => {};

/** The JSON-RPC error a denied tool call is answered with (the MCP code for an unknown tool). */
const deniedAnswer = (id: unknown, name: string, requestId: string) => ({
  jsonrpc: "2.0",
  id: id ?? null,
  error: {
    code: -32602,
    message: `The tool "${name}" is not allowed in this space.`,
    data: { code: "tool_not_allowed", requestId },
  },
});

const isRequest = (message: Message) => message.id !== undefined && message.id !== null;
const toolOf = (message: Message) => (message.method === "tools/call" ? message.params?.name : undefined);

/**
 * Decides, between authorization and the upstream request, what a space may do with its instance:
 * the calling user's identity (`identity.ts`), the tools it may call and see, and its calls per
 * minute and in flight (counted by a `LimitCounter`).
 */
export function createPolicy(options: {
  counter: LimitCounter;
  now: () => number;
  jwks?: { cacheMs?: number; cooldownMs?: number };
}) {
  const { counter, now } = options;
  const identify = createIdentity(options.jwks);
  // A grant is the same object for as long as its lookup is cached: its allowed set is built once.
  const allowedSets = new WeakMap<
    GatewayGrant,
    { instance: GatewayInstance; allowed: ReadonlySet<string> | null }
  >();
  const allowedOf = (grant: GatewayGrant, instance: GatewayInstance) => {
    const cached = allowedSets.get(grant);
    if (cached?.instance === instance) return cached.allowed;
    const tools = allowedTools(instance.tools, grant.tools);
    const allowed = tools === null ? null : new Set(tools);
    allowedSets.set(grant, { instance, allowed });
    return allowed;
  };

  /** The tools/call names of a call, from Mcp-Method / Mcp-Name or its body's messages. */
  function calledTools(facts: CallFacts): string[] {
    const method = facts.headerMethod;
    if (method !== undefined) return method === "tools/call" && facts.name ? [facts.name] : [];
    const names: string[] = [];
    for (const message of facts.messages) {
      const name = toolOf(message);
      if (typeof name === "string") names.push(name);
    }
    return names;
  }

  const listsTools = (facts: CallFacts) =>
    facts.headerMethod === "tools/list" || facts.messages.some((message) => message.method === "tools/list");

  /** A JSON-RPC error for each request of a call that asks for a denied tool (every one of a batch). */
  function denial(
    facts: CallFacts,
    denied: string,
    allowed: ReadonlySet<string>,
    requestId: string,
  ): Refusal {
    const messages = facts.messages;
    const answers = messages.filter(isRequest).map((message) => {
      const name = toolOf(message);
      if (typeof name === "string" && !allowed.has(name)) return deniedAnswer(message.id, name, requestId);
      return {
        jsonrpc: "2.0",
        id: message.id,
        error: {
          code: -32600,
          message: `Not sent: the batch also calls "${denied}", which is not allowed in this space.`,
          data: { code: "tool_not_allowed", requestId },
        },
      };
    });
    const body = messages.length > 1 ? answers : (answers[0] ?? deniedAnswer(facts.id, denied, requestId));
    return {
      ...refusal("tool_not_allowed", `The tool "${denied}" is not allowed in this space.`),
      answer: { status: 200, body },
    };
  }

  async function limited(grant: GatewayGrant, instance: GatewayInstance): Promise<Refusal | (() => void)> {
    const limits = limitsOf(instance.limits, grant.limits);
    const space = `${grant.instanceId}#${grant.platformId}#${grant.spaceId}`;
    const at = now();
    try {
      if (limits.callsPerMinute !== null) {
        const window = Math.floor(at / minuteMs);
        const resetAt = (window + 1) * minuteMs;
        if (!(await counter.take(`${space}#m#${window}`, limits.callsPerMinute, resetAt))) {
          const message = `This space may make ${limits.callsPerMinute} tool calls a minute to this MCP server; try again in a moment.`;
          return refusal("rate_limited", message, {
            "retry-after": String(Math.ceil((resetAt - at) / 1000)),
          });
        }
      }
      if (limits.concurrent === null) return nothingHeld;
      const key = `${space}#c#${Math.floor(at / concurrencyWindowMs)}`;
      const expiresAt = (Math.floor(at / concurrencyWindowMs) + 2) * concurrencyWindowMs;
      if (!(await counter.take(key, limits.concurrent, expiresAt))) {
        const message = `This space may have ${limits.concurrent} tool calls in flight at once to this MCP server; try again in a moment.`;
        return refusal("rate_limited", message, { "retry-after": "1" });
      }
      let held = true;
      return () => {
        if (!held) return;
        held = false;
        Promise.resolve(counter.give(key)).catch(() => {});
      };
    } catch (cause) {
      const message = "The gateway could not count this call against the space's limits; try again shortly.";
      return { ...refusal("limits_unavailable", message), cause };
    }
  }

  async function decide(
    request: GatewayRequest,
    facts: CallFacts,
    grant: GatewayGrant,
    instance: GatewayInstance,
    leaf: Leaf,
    identity: IdentitySettings | undefined,
    allowed: ReadonlySet<string> | null,
    requestId: string,
  ): Promise<Admission | Refusal> {
    let headers: Record<string, string> | null = null;
    if (identity && identity.mode !== "off") {
      const identified = await identify(request.headers, identity);
      if ("error" in identified) return identified as Refusal;
      headers = identified as Record<string, string>;
    }
    const calls = request.method === "POST" ? calledTools(facts) : [];
    if (allowed !== null) {
      const denied = calls.find((name) => !allowed.has(name));
      if (denied !== undefined) return denial(facts, denied, allowed, requestId);
    }
    let release = nothingHeld;
    if (calls.length > 0 && (instance.limits || grant.limits)) {
      const held = await limited(grant, instance);
      if (typeof held !== "function") return held;
      release = held;
    }
    // Answers to tools/list, and anything a GET or SSE stream replays, show only allowed tools.
    const filtered = allowed !== null && (request.method === "GET" || leaf === "sse" || listsTools(facts));
    return { headers, listFilter: filtered ? allowed : null, release };
  }

  /** What the policy lets a call do, or why not; null, at once, for an instance and space without one. */
  return function admit(
    request: GatewayRequest,
    facts: CallFacts,
    grant: GatewayGrant,
    instance: GatewayInstance,
    leaf: Leaf,
    requestId: string,
  ): Admission | Refusal | null | Promise<Admission | Refusal> {
    const identity = instance.identity;
    const allowed = instance.tools || grant.tools ? allowedOf(grant, instance) : null;
    if (allowed === null && !instance.limits && !grant.limits && (!identity || identity.mode === "off"))
      return null;
    return decide(request, facts, grant, instance, leaf, identity, allowed, requestId);
  };
}
