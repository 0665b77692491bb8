import { Resource } from "sst/resource";

/** Runtime settings, read once per process. */
export interface Config {
  /** The URL Dify reaches the gateway at, without a trailing slash. */
  publicUrl: string;
  tableName: string;
  /** Name prefix of the secrets kept in AWS Secrets Manager. */
  secretPrefix: string;
  queueUrl?: string;
  /** The origin the admin UI is served from, for CORS; `*` allows any (sessions are bearer tokens). */
  corsOrigin: string;
  sessionTtlSeconds: number;
  /** Whether the admin password signs in; off once single sign-on works (break-glass otherwise). */
  passwordLogin: boolean;
  /** OpenID Connect sign-in, when an issuer is configured. */
  sso?: SsoConfig;
}

export interface SsoConfig {
  /** The issuer URL; its metadata is read from /.well-known/openid-configuration. */
  issuer: string;
  clientId: string;
  /** The client secret itself (locally, from the environment); otherwise read from the secret store. */
  clientSecret?: string;
  /** Where the issuer sends the browser back: the admin UI's address. */
  redirectUrl: string;
  /** `role:group-or-@domain` entries, highest role first (see Roles.parseMapping). */
  roles: string;
  /** The ID token claim that holds the person's groups or roles. */
  rolesClaim: string;
  /** Extra scopes to ask for beyond `openid email profile`. */
  scopes: string;
}

/** The `Settings` link every function is given on AWS (stacks/api.ts). */
interface LinkedSettings {
  tableName: string;
  secretPrefix: string;
  queueUrl: string;
  publicUrl: string;
  corsOrigin: string;
  passwordLogin?: string;
  oidcIssuer?: string;
  oidcClientId?: string;
  oidcRedirectUrl?: string;
  oidcRoles?: string;
  oidcRolesClaim?: string;
  oidcScopes?: string;
}

const SESSION_TTL_SECONDS = 12 * 60 * 60;
const withoutTrailingSlash = (url: string) => url.replace(/\/+$/, "");

/** The settings SST links to a function, or undefined outside a deployed function. */
function linkedSettings(env: NodeJS.ProcessEnv): LinkedSettings | undefined {
  if (!env.SST_RESOURCE_App && !env.SST_KEY_FILE) return undefined;
  const settings = (Resource as unknown as Record<string, Partial<LinkedSettings> | undefined>).Settings;
  const missing = (["tableName", "secretPrefix", "queueUrl", "publicUrl"] as const).filter(
    (key) => typeof settings?.[key] !== "string" || settings[key] === "",
  );
  if (!settings || missing.length > 0) {
    throw new Error(`The function's Settings link lacks ${missing.join(", ")}: deploy the stack again.`);
  }
  return settings as LinkedSettings;
}

const isOff = (value: string | undefined) =>
  ["off", "false", "0", "no"].includes((value ?? "").toLowerCase());

function ssoConfig(
  settings: {
    issuer?: string;
    clientId?: string;
    clientSecret?: string;
    redirectUrl?: string;
    roles?: string;
    rolesClaim?: string;
    scopes?: string;
  },
  uiUrl: string,
): SsoConfig | undefined {
  if (!settings.issuer || !settings.clientId) return undefined;
  return {
    issuer: settings.issuer,
    clientId: settings.clientId,
    clientSecret: settings.clientSecret || undefined,
    redirectUrl: settings.redirectUrl || `${uiUrl}/`,
    roles: settings.roles ?? "",
    rolesClaim: settings.rolesClaim || "groups",
    scopes: settings.scopes ?? "",
  };
}

/**
 * On AWS, from the `Settings` link; on one machine and in tests, from the environment (SPACEGATE_*),
 * with defaults for `npm start`.
 */
export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const linked = linkedSettings(env);
  if (linked) {
    return {
      publicUrl: withoutTrailingSlash(linked.publicUrl),
      tableName: linked.tableName,
      secretPrefix: linked.secretPrefix,
      queueUrl: linked.queueUrl,
      corsOrigin: linked.corsOrigin || "*",
      sessionTtlSeconds: SESSION_TTL_SECONDS,
      passwordLogin: !isOff(linked.passwordLogin),
      sso: ssoConfig(
        {
          issuer: linked.oidcIssuer,
          clientId: linked.oidcClientId,
          redirectUrl: linked.oidcRedirectUrl,
          roles: linked.oidcRoles,
          rolesClaim: linked.oidcRolesClaim,
          scopes: linked.oidcScopes,
        },
        withoutTrailingSlash(
          linked.corsOrigin && linked.corsOrigin !== "*" ? linked.corsOrigin : linked.publicUrl,
        ),
      ),
    };
  }
  const publicUrl = withoutTrailingSlash(env.SPACEGATE_PUBLIC_URL ?? `http://localhost:${env.PORT ?? 8787}`);
  return {
    publicUrl,
    tableName: env.SPACEGATE_TABLE ?? "spacegate",
    secretPrefix: env.SPACEGATE_SECRET_PREFIX ?? "spacegate",
    queueUrl: env.SPACEGATE_QUEUE_URL,
    corsOrigin: env.SPACEGATE_WEB_ORIGIN ?? "*",
    sessionTtlSeconds: SESSION_TTL_SECONDS,
    passwordLogin: !isOff(env.SPACEGATE_PASSWORD_LOGIN),
    sso: ssoConfig(
      {
        issuer: env.SPACEGATE_OIDC_ISSUER,
        clientId: env.SPACEGATE_OIDC_CLIENT_ID,
        clientSecret: env.SPACEGATE_OIDC_CLIENT_SECRET,
        redirectUrl: env.SPACEGATE_OIDC_REDIRECT_URL,
        roles: env.SPACEGATE_OIDC_ROLES,
        rolesClaim: env.SPACEGATE_OIDC_ROLES_CLAIM,
        scopes: env.SPACEGATE_OIDC_SCOPES,
      },
      publicUrl,
    ),
  };
}
