import type { createRemoteJWKSet, JWTPayload } from "jose";
import type { ErrorCode } from "../core/errors";
import type { IdentitySettings } from "../core/policy";
import { headerValue, type IncomingHeaders } from "./headers";
import { type Refusal, refusal } from "./refusals";

type KeySet = ReturnType<typeof createRemoteJWKSet>;

/**
 * jose is loaded on the first token to verify: on Lambda it is installed beside the bundle rather
 * than in it (bundle.config.ts), so a gateway that verifies nothing never loads it.
 */
let jose: Promise<typeof import("jose")> | undefined;
const loadJose = () => {
  jose ??= import("jose");
  return jose;
};

const challenge = (error: string) => ({
  "www-authenticate": `Bearer realm="spacegate-identity", error="${error}"`,
});

const refused = (code: ErrorCode, message: string) => refusal(code, message, challenge("invalid_token"));

const claimValue = (value: unknown): string | null => {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return value.filter((item) => typeof item === "string").join(",");
  return null;
};

/** Header values may not carry control characters; a claim holding one is left out. */
const headerSafe = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * The calling Dify user's identity as the upstream should hear it: the SSO token Dify sends,
 * forwarded under the instance's header, and with `verify` checked first as a JWT against the
 * instance's issuer, audience and keys (the key set fetched once and kept; a token signed with a key
 * it does not hold fetches it again, so rotated keys are picked up).
 */
export function createIdentity(options: { cacheMs?: number; cooldownMs?: number } = {}) {
  const keySets = new Map<string, KeySet>();
  const keySet = ({ createRemoteJWKSet }: typeof import("jose"), url: string) => {
    let set = keySets.get(url);
    if (set === undefined) {
      set = createRemoteJWKSet(new URL(url), {
        cacheMaxAge: options.cacheMs ?? 10 * 60_000,
        cooldownDuration: options.cooldownMs ?? 30_000,
        timeoutDuration: 5_000,
      });
      keySets.set(url, set);
    }
    return set;
  };

  /** Headers to add for the upstream, or why the call is refused. */
  return async function identify(
    headers: IncomingHeaders,
    settings: IdentitySettings,
  ): Promise<Record<string, string> | Refusal> {
    const token = headerValue(headers, "x-dify-sso-access-token")?.trim();
    const out: Record<string, string> = {};
    if (settings.mode === "forward") {
      if (token) out[settings.header] = settings.bearer ? `Bearer ${token}` : token;
      return out;
    }
    if (!token)
      return refused(
        "identity_missing",
        "This MCP server needs the calling user's identity: Dify sends it for providers with per-user identity (Dify Enterprise 1.15+).",
      );
    if (!settings.jwksUrl || !settings.issuer || !settings.audience)
      return refusal("identity_unconfigured", "The MCP server's identity verification is not set up.");
    const library = await loadJose();
    const { errors } = library;
    let payload: JWTPayload;
    try {
      ({ payload } = await library.jwtVerify(token, keySet(library, settings.jwksUrl), {
        issuer: settings.issuer,
        audience: settings.audience,
      }));
    } catch (error) {
      if (error instanceof errors.JWTExpired)
        return refused("identity_expired", "The user's identity token has expired.");
      // Keys that could not be fetched or read are the gateway's trouble, not the user's token.
      const keysFailed =
        !(error instanceof errors.JOSEError) ||
        error instanceof errors.JWKSTimeout ||
        error instanceof errors.JWKSInvalid;
      if (keysFailed) {
        const message = "The identity provider's keys could not be fetched; try again shortly.";
        return { ...refusal("identity_keys_unreachable", message), cause: error };
      }
      return refused("identity_invalid", "The user's identity token is not valid for this MCP server.");
    }
    out[settings.header] = settings.bearer ? `Bearer ${token}` : token;
    for (const [claim, header] of Object.entries(settings.claimHeaders)) {
      const value = claimValue(payload[claim]);
      if (value !== null && headerSafe.test(value)) out[header] = value;
    }
    return out;
  };
}
