/**
 * What a space may do through the gateway beyond its credential: which tools, how often, and whose
 * identity the upstream hears. Plain data and rules, shared by the domain (the rows written to Dify)
 * and the gateway (which enforces them) without a schema library on the gateway's path.
 */

/** Tool names a space may see and call; null allows every tool the upstream lists. */
export type ToolList = string[] | null;

export interface RateLimits {
  /** `tools/call` requests per minute; null for no limit. */
  callsPerMinute: number | null;
  /** `tools/call` requests in flight at once; null for no limit. */
  concurrent: number | null;
}

/** A space's own limits: a value left out is the instance's, null lifts it. */
export type LimitsOverride = Partial<RateLimits>;

export type IdentityMode = "off" | "forward" | "verify";

export interface IdentitySettings {
  /** `forward` passes Dify's per-user SSO token on; `verify` checks it as a JWT first. */
  mode: IdentityMode;
  /** The header the upstream receives the token in, lowercase. */
  header: string;
  /** Sends it as `Bearer <token>` (for `authorization`). */
  bearer: boolean;
  issuer: string | null;
  audience: string | null;
  jwksUrl: string | null;
  /** Claims of a verified token sent to the upstream as headers: claim name to header name (lowercase). */
  claimHeaders: Record<string, string>;
}

/** The header Dify Enterprise sends the calling user's token in (identity_mode = 'idp_token'). */
export const ssoTokenHeader = "x-dify-sso-access-token";

export const noLimits: RateLimits = { callsPerMinute: null, concurrent: null };

export const identityOff: IdentitySettings = {
  mode: "off",
  header: ssoTokenHeader,
  bearer: false,
  issuer: null,
  audience: null,
  jwksUrl: null,
  claimHeaders: {},
};

/** The tools a space may use: the instance's list narrowed by the space's, null when both allow all. */
export function allowedTools(
  instanceTools: ToolList | undefined,
  spaceTools: ToolList | undefined,
): ToolList {
  const instance = instanceTools ?? null;
  const space = spaceTools ?? null;
  if (instance === null) return space;
  if (space === null) return instance;
  const allowed = new Set(instance);
  return space.filter((name) => allowed.has(name));
}

/** The limits a space runs under: the instance's defaults, each overridden by the space's when set. */
export function limitsOf(instance: RateLimits | undefined, space: LimitsOverride | undefined): RateLimits {
  const base = instance ?? noLimits;
  return {
    callsPerMinute: space?.callsPerMinute !== undefined ? space.callsPerMinute : base.callsPerMinute,
    concurrent: space?.concurrent !== undefined ? space.concurrent : base.concurrent,
  };
}
