import { hash, timingSafeEqual } from "node:crypto";
import { createBoundedMap, createTtlCache } from "./cache";
import { headerValue, type IncomingHeaders } from "./headers";
import { type Refusal, refusal } from "./refusals";
import type { GatewayGrant, GatewayInstance, GatewayRequest, GatewayResolver, Leaf } from "./types";

/** How the client presented its credential: a message URL must carry it again if it came in the query. */
export type Presented = { token: string; via: "header" | "query" };

export type Authorization =
  | Refusal
  | { grant: GatewayGrant; instance: GatewayInstance; credential: Presented };

const credentialPattern = /^sg_[A-Za-z0-9_-]{16,256}$/;
const bearerPattern = /^Bearer[ \t]+(\S+)[ \t]*$/i;
export const credentialQuery = "sg_token";
const realm = 'Bearer realm="spacegate"';
const invalidTokenChallenge = { "www-authenticate": `${realm}, error="invalid_token"` };

const sha256Hex = (text: string) => hash("sha256", text, "hex");

function sameHash(storedHex: string, computedHex: string) {
  const stored = Buffer.from(storedHex.toLowerCase(), "latin1");
  const computed = Buffer.from(computedHex, "latin1");
  return stored.length === computed.length && timingSafeEqual(stored, computed);
}

/** The first well-formed credential of Authorization, X-API-Key and the query, and whether any was sent. */
function presentedCredential(
  headers: IncomingHeaders,
  query: string,
): { token: string | null; via: "header" | "query"; given: boolean } {
  const authorization = headerValue(headers, "authorization");
  const bearer = authorization ? bearerPattern.exec(authorization)?.[1] : undefined;
  if (bearer && credentialPattern.test(bearer)) return { token: bearer, via: "header", given: true };
  const apiKey = headerValue(headers, "x-api-key");
  const key = apiKey?.trim();
  if (key && credentialPattern.test(key)) return { token: key, via: "header", given: true };
  const fromQuery = query.includes(credentialQuery) ? new URLSearchParams(query).get(credentialQuery) : null;
  if (fromQuery && credentialPattern.test(fromQuery)) return { token: fromQuery, via: "query", given: true };
  return { token: null, via: "header", given: Boolean(authorization || apiKey || fromQuery) };
}

/** The client's query minus the credential, as the raw string when there was nothing to remove. */
export function forwardedQuery(query: string): string {
  if (!query.includes(credentialQuery)) return query;
  const params = new URLSearchParams(query);
  if (!params.has(credentialQuery)) return query;
  params.delete(credentialQuery);
  return params.toString();
}

const notValid = () =>
  refusal(
    "credential_invalid",
    "The gateway credential is not valid: it may have been rotated or revoked.",
    invalidTokenChallenge,
  );

const unavailable = () =>
  refusal("gateway_unavailable", "The gateway could not look up this credential; try again shortly.");

/**
 * Who may call what: the credential to its grant (cached, misses included), the grant's expiry and
 * instance, then the instance itself. Nothing here touches the upstream.
 */
export function createAuthorizer(options: {
  resolver: GatewayResolver;
  now: () => number;
  cacheTtlMs: number;
  /** Lookups of credentials that turn out not to exist, per client and interval, before refusing unread. */
  missBudget?: { perClient: number; intervalMs: number };
}) {
  const { resolver, now } = options;
  const budget = options.missBudget ?? { perClient: 20, intervalMs: 60_000 };
  const misses = createBoundedMap<{ count: number; since: number }>(10_000);
  const overBudget = (client: string) => {
    const spent = misses.get(client);
    return spent !== undefined && now() - spent.since < budget.intervalMs && spent.count >= budget.perClient;
  };
  const spendMiss = (client: string) => {
    const at = now();
    const spent = misses.get(client);
    if (spent === undefined || at - spent.since >= budget.intervalMs)
      misses.set(client, { count: 1, since: at });
    else spent.count += 1;
  };
  const grants = createTtlCache<GatewayGrant | null>({ ttlMs: options.cacheTtlMs, now });
  const instances = createTtlCache<GatewayInstance | null>({ ttlMs: options.cacheTtlMs, now });

  /** Why this grant may not be used for this instance at all, or null. */
  function grantRefusal(grant: GatewayGrant | null, tokenHash: string, instanceId: string): Refusal | null {
    if (!grant || !sameHash(grant.tokenHash, tokenHash)) return notValid();
    if (grant.expiresAt !== null && Date.parse(grant.expiresAt) <= now()) {
      return {
        ...refusal("credential_expired", "The gateway credential has expired.", invalidTokenChallenge),
        grant,
      };
    }
    if (grant.instanceId !== instanceId) {
      return {
        ...refusal("credential_wrong_instance", "This credential belongs to another MCP server."),
        grant,
      };
    }
    return null;
  }

  /** The valid grant's access to its instance through this route, or why not. */
  function access(
    leaf: Leaf,
    instanceId: string,
    grant: GatewayGrant,
    instance: GatewayInstance | null,
    credential: Presented,
  ): Authorization {
    if (!instance)
      return { ...refusal("instance_not_found", `MCP server ${instanceId} does not exist.`), grant };
    if (!grant.enabled)
      return {
        ...refusal("access_disabled", "Access to this MCP server is disabled for this space."),
        grant,
      };
    if (!instance.enabled) return { ...refusal("instance_disabled", "This MCP server is disabled."), grant };
    const sse = instance.upstream.transport === "sse";
    if (sse !== (leaf !== "mcp")) {
      const message = sse
        ? `This MCP server speaks SSE: use /gateway/${instanceId}/sse.`
        : `This MCP server speaks streamable HTTP: use /gateway/${instanceId}/mcp.`;
      return { ...refusal("transport_mismatch", message), grant };
    }
    return { grant, instance, credential };
  }

  /**
   * The grant and instance a request may use, or why not. The instance is looked up only for a valid
   * credential. Answers at once when both are cached.
   */
  return function authorize(
    request: GatewayRequest,
    query: string,
    instanceId: string,
    leaf: Leaf,
  ): Authorization | Promise<Authorization> {
    const credential = presentedCredential(request.headers, query);
    if (!credential.token) {
      return credential.given
        ? refusal("credential_invalid", "The gateway credential is malformed.", invalidTokenChallenge)
        : refusal("credential_missing", "Send the gateway credential as Authorization: Bearer sg_….", {
            "www-authenticate": realm,
          });
    }
    const presented: Presented = { token: credential.token, via: credential.via };
    const tokenHash = sha256Hex(credential.token);
    const cachedGrant = grants.peek(tokenHash);
    const cachedInstance = instances.peek(instanceId);
    if (cachedGrant && cachedInstance) {
      const grant = cachedGrant.value;
      return (
        grantRefusal(grant, tokenHash, instanceId) ??
        access(leaf, instanceId, grant!, cachedInstance.value, presented)
      );
    }
    const client = request.clientIp ?? "";
    // A client that keeps presenting credentials that do not exist is refused without a lookup.
    if (!cachedGrant && overBudget(client)) return notValid();
    return (async () => {
      let grant: GatewayGrant | null;
      try {
        grant = await grants.get(tokenHash, () => resolver.grantByTokenHash(tokenHash));
      } catch (cause) {
        return { ...unavailable(), cause };
      }
      if (grant === null) spendMiss(client);
      const refused = grantRefusal(grant, tokenHash, instanceId);
      if (refused) return refused;
      let instance: GatewayInstance | null;
      try {
        instance = await instances.get(instanceId, () => resolver.instance(instanceId));
      } catch (cause) {
        return { ...unavailable(), cause, grant: grant! };
      }
      return access(leaf, instanceId, grant!, instance, presented);
    })();
  };
}
