import { createRemoteJWKSet, jwtVerify } from "jose";
import * as oidc from "openid-client";
import { z } from "zod";
import { Actor } from "./actor";
import { Audit } from "./audit";
import { Auth } from "./auth";
import type { SsoConfig } from "./config";
import { AppError } from "./errors";
import { Roles } from "./roles";
import { getRuntime } from "./runtime";
import { SecretName } from "./secrets";
import { ifStatusIn } from "./store";
import { Keys } from "./store/keys";

/** How long a person has to come back from the identity provider. */
const ATTEMPT_SECONDS = 10 * 60;
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

interface Attempt {
  pk: string;
  sk: string;
  status: "pending";
  verifier: string;
  nonce: string;
  ttl: number;
}

interface Issuer {
  configuration: oidc.Configuration;
  /** Signing keys of the issuer, fetched again whenever a token names a key not seen yet. */
  keys: ReturnType<typeof createRemoteJWKSet>;
}

const issuers = new Map<string, Promise<Issuer>>();

export namespace Sso {
  export const Callback = z.object({
    code: z.string().min(1).max(4096),
    state: z.string().min(1).max(200),
    iss: z.string().max(2048).optional(),
  });

  /** What the sign-in page offers. */
  export const Methods = z.object({ password: z.boolean(), sso: z.boolean() });

  export function methods(): z.infer<typeof Methods> {
    const { config } = getRuntime();
    return { password: config.passwordLogin, sso: config.sso !== undefined };
  }

  /**
   * Starts a sign-in at the identity provider: authorization code with PKCE, a one-time state and
   * nonce kept in the table until the person comes back. Answers where to send the browser.
   */
  export async function start(): Promise<{ url: string; state: string }> {
    const settings = ssoSettings();
    const { configuration } = await issuer(settings);
    const { store, now } = getRuntime();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const verifier = oidc.randomPKCECodeVerifier();
    await store.put({
      ...Keys.ssoAttempt(state),
      status: "pending",
      verifier,
      nonce,
      ttl: Math.floor(now().getTime() / 1000) + ATTEMPT_SECONDS,
    } satisfies Attempt);
    // A refresh token, where the issuer hands them out, is how a session learns the provider ended it.
    const offline = configuration.serverMetadata().scopes_supported?.includes("offline_access");
    const url = oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: settings.redirectUrl,
      scope: [
        "openid",
        "email",
        "profile",
        ...(offline ? ["offline_access"] : []),
        ...settings.scopes.split(/[\s,]+/).filter(Boolean),
      ].join(" "),
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state,
      nonce,
    });
    return { url: url.href, state };
  }

  /**
   * Finishes a sign-in: spends the attempt (once), exchanges the code, checks the ID token (issuer,
   * audience, expiry, nonce, and its signature against the issuer's keys), maps the person to a
   * role and starts a session.
   */
  export async function finish(callback: z.infer<typeof Callback>): Promise<Auth.Session> {
    const settings = ssoSettings();
    const { store, now } = getRuntime();
    const key = Keys.ssoAttempt(callback.state);
    const attempt = await store.get<Attempt>(key, { consistent: true });
    const fresh = attempt && attempt.ttl > now().getTime() / 1000;
    if (!attempt || !fresh || !(await store.delete(key, { if: ifStatusIn("pending") }))) {
      throw new AppError(
        "sso_attempt_unknown",
        "This sign-in was already completed, has expired, or was not started here. Sign in again.",
      );
    }
    const { configuration, keys } = await issuer(settings);
    const currentUrl = new URL(settings.redirectUrl);
    for (const [name, value] of Object.entries(callback)) if (value) currentUrl.searchParams.set(name, value);
    let claims: oidc.IDToken;
    let refreshToken: string | undefined;
    try {
      const tokens = await oidc.authorizationCodeGrant(configuration, currentUrl, {
        pkceCodeVerifier: attempt.verifier,
        expectedState: callback.state,
        expectedNonce: attempt.nonce,
        idTokenExpected: true,
      });
      await jwtVerify(tokens.id_token ?? "", keys, {
        issuer: configuration.serverMetadata().issuer,
        audience: settings.clientId,
      });
      claims = tokens.claims() as oidc.IDToken;
      refreshToken = tokens.refresh_token;
    } catch (error) {
      throw refused(error);
    }
    const person = personOf(claims, settings);
    const sealed = refreshToken ? await getRuntime().envelope.encrypt(refreshToken) : undefined;
    const session = await Auth.startSession(person, sealed);
    await Actor.run({ type: "admin", ...person }, () =>
      Audit.record("auth.login", { type: "session", id: person.id }, { via: "sso" }),
    );
    return session;
  }

  /**
   * Asks the identity provider whether a single sign-on session still stands, with a refresh-token
   * grant. When the provider refuses the grant, its session is gone and this one is ended too; when
   * the provider cannot be reached, the session stays. Sessions without a refresh token (the
   * password's, or from an issuer that hands none out) have nothing to ask.
   */
  export async function refresh(token: string | undefined): Promise<void> {
    const session = await Auth.sessionOf(token);
    if (!session.refreshToken) return;
    const { configuration } = await issuer(ssoSettings());
    const { envelope } = getRuntime();
    let renewed: string | undefined;
    try {
      const tokens = await oidc.refreshTokenGrant(
        configuration,
        await envelope.decrypt(session.refreshToken),
      );
      renewed = tokens.refresh_token;
    } catch (error) {
      if (error instanceof oidc.ResponseBodyError && error.error === "invalid_grant") {
        await Auth.revokeSession(session.id, "identity_provider");
        throw new AppError(
          "session_revoked",
          "The identity provider has ended your session there, so this one has ended too. Sign in again.",
        );
      }
      throw new AppError(
        "sso_unreachable",
        `The identity provider could not confirm the session (${
          error instanceof Error ? error.message.slice(0, 200) : "unknown"
        }); it stays signed in. Try again later.`,
      );
    }
    if (renewed) await Auth.replaceRefreshToken(session.id, await envelope.encrypt(renewed));
  }

  function personOf(claims: oidc.IDToken, settings: SsoConfig): Auth.Person {
    const text = (value: unknown, max: number) =>
      typeof value === "string" && value.length > 0 ? value.slice(0, max) : undefined;
    const email = text(claims.email, 320);
    const name = text(claims.name, 200) ?? text(claims.preferred_username, 200);
    const granted = claims[settings.rolesClaim];
    const groups = (Array.isArray(granted) ? granted : [granted]).filter(
      (group): group is string => typeof group === "string",
    );
    const role = Roles.fromClaims(Roles.parseMapping(settings.roles), {
      groups,
      email,
      emailVerified: typeof claims.email_verified === "boolean" ? claims.email_verified : undefined,
    });
    const who = email ?? claims.sub;
    if (!role) {
      throw new AppError(
        "sso_no_role",
        `You are signed in at the identity provider as ${who}, but no role in Spacegate is given to ${
          groups.length ? `your groups (${groups.slice(0, 10).join(", ")})` : "a person without groups"
        }${email ? ` or to your e-mail domain` : ""}. Ask a Spacegate admin to map one of them to a role.`,
        { details: { subject: claims.sub, email, groups: groups.slice(0, 10) } },
      );
    }
    return { id: claims.sub, ...(email ? { email } : {}), ...(name ? { name } : {}), role };
  }

  /** The ID token claim a check failed on, wherever the libraries put it in the error's causes. */
  function failedClaim(error: unknown): string | undefined {
    for (let cause = error, depth = 0; cause && depth < 4; depth++) {
      const { claim } = (cause as { cause?: { claim?: unknown } }).cause ?? {};
      if (typeof claim === "string") return claim;
      cause = (cause as { cause?: unknown }).cause;
    }
    return undefined;
  }

  function refused(error: unknown): AppError {
    const claim = failedClaim(error);
    const reason =
      error instanceof oidc.ResponseBodyError
        ? `${error.error}${error.error_description ? ` (${error.error_description})` : ""}`
        : error instanceof Error
          ? error.message
          : "unknown";
    return new AppError(
      "sso_refused",
      `The identity provider's answer was refused: ${reason.slice(0, 300)}${
        claim ? ` (the ID token's "${claim.slice(0, 20)}" claim)` : ""
      }. Sign in again.`,
    );
  }

  function ssoSettings(): SsoConfig {
    const { sso } = getRuntime().config;
    if (!sso) {
      throw new AppError(
        "sso_not_configured",
        "Single sign-on is not configured here: sign in with the password.",
      );
    }
    return sso;
  }

  function issuer(settings: SsoConfig): Promise<Issuer> {
    const cacheKey = `${settings.issuer} ${settings.clientId}`;
    let found = issuers.get(cacheKey);
    if (!found) {
      found = discover(settings);
      issuers.set(cacheKey, found);
      found.catch(() => issuers.delete(cacheKey));
    }
    return found;
  }

  async function discover(settings: SsoConfig): Promise<Issuer> {
    const { secrets } = getRuntime();
    const secret = settings.clientSecret ?? (await secrets.get(SecretName.oidcClientSecret)) ?? undefined;
    const url = new URL(settings.issuer);
    let configuration: oidc.Configuration;
    try {
      configuration = await oidc.discovery(
        url,
        settings.clientId,
        secret,
        secret ? undefined : oidc.None(),
        // Plain HTTP only for an issuer on this machine (a local Keycloak, the tests' provider).
        LOOPBACK.has(url.hostname) ? { execute: [oidc.allowInsecureRequests] } : undefined,
      );
    } catch (error) {
      throw new AppError(
        "sso_unreachable",
        `The identity provider's metadata could not be read from ${settings.issuer}: ${
          error instanceof Error ? error.message : "unknown"
        }.`,
      );
    }
    const jwksUri = configuration.serverMetadata().jwks_uri;
    if (!jwksUri) {
      throw new AppError(
        "sso_unreachable",
        `The identity provider ${settings.issuer} publishes no signing keys.`,
      );
    }
    // Tokens only ever come from the issuer's own token endpoint, so an unknown key id is worth a
    // fetch at once: that is how keys the issuer rotated are picked up.
    return { configuration, keys: createRemoteJWKSet(new URL(jwksUri), { cooldownDuration: 0 }) };
  }
}
