import { SecretName } from "../functions/core/secrets";
import { secretPrefix } from "./secrets";

const env = process.env;
const on = (value: string | undefined) => ["on", "true", "1", "yes"].includes((value ?? "").toLowerCase());
const webOrigin = env.SPACEGATE_WEB_ORIGIN;

/** The password sign-in, kept as a break-glass login unless SPACEGATE_PASSWORD_LOGIN=off. */
const passwordLogin = env.SPACEGATE_PASSWORD_LOGIN ?? "on";

/**
 * A Cognito user pool of the stage's own (SPACEGATE_COGNITO=on): a public app client for the
 * authorization code flow with PKCE, whose callback is the admin UI, and one group per role. People
 * are added to the pool and to a group by an admin in the AWS console or CLI.
 */
function cognito() {
  if (!webOrigin || webOrigin === "*") {
    throw new Error(
      "SPACEGATE_COGNITO=on needs SPACEGATE_WEB_ORIGIN, the admin UI's origin, where Cognito sends people back.",
    );
  }
  const pool = new aws.cognito.UserPool("SignInPool", {
    name: `spacegate-${$app.stage}`,
    usernameAttributes: ["email"],
    autoVerifiedAttributes: ["email"],
    adminCreateUserConfig: { allowAdminCreateUserOnly: true },
    passwordPolicy: {
      minimumLength: 12,
      requireLowercase: true,
      requireNumbers: true,
      requireSymbols: false,
      requireUppercase: true,
    },
  });
  new aws.cognito.UserPoolDomain("SignInDomain", {
    userPoolId: pool.id,
    domain: $interpolate`spacegate-${$app.stage}-${aws.getCallerIdentityOutput().accountId}`,
  });
  const client = new aws.cognito.UserPoolClient("SignInClient", {
    userPoolId: pool.id,
    generateSecret: false,
    allowedOauthFlowsUserPoolClient: true,
    allowedOauthFlows: ["code"],
    allowedOauthScopes: ["openid", "email", "profile"],
    supportedIdentityProviders: ["COGNITO"],
    callbackUrls: [`${webOrigin}/`],
    logoutUrls: [`${webOrigin}/`],
    preventUserExistenceErrors: "ENABLED",
  });
  const roles = ["admin", "operator", "viewer"] as const;
  for (const role of roles) {
    new aws.cognito.UserGroup(`SignIn${role[0]?.toUpperCase()}${role.slice(1)}Group`, {
      userPoolId: pool.id,
      name: `spacegate-${role}`,
      description: `Spacegate: signs in as ${role}`,
    });
  }
  return {
    oidcIssuer: $interpolate`https://cognito-idp.${aws.getRegionOutput().name}.amazonaws.com/${pool.id}`,
    oidcClientId: client.id,
    oidcRoles: roles.map((role) => `${role}:spacegate-${role}`).join(","),
    oidcRolesClaim: "cognito:groups",
  };
}

/**
 * Any other OpenID issuer (Entra ID, Okta, Google, Keycloak) by its settings; its client secret, if
 * it has one, goes into the `oidc-client-secret` secret, which the stack creates empty.
 */
function externalIssuer() {
  if (!env.SPACEGATE_OIDC_ISSUER || !env.SPACEGATE_OIDC_CLIENT_ID) return {};
  new aws.secretsmanager.Secret(
    "OidcClientSecret",
    {
      name: `${secretPrefix}/${SecretName.oidcClientSecret}`,
      description: "Spacegate: the client secret at the OpenID issuer (empty for a public client)",
      recoveryWindowInDays: $app.removal === "remove" ? 0 : 30,
    },
    { retainOnDelete: $app.removal !== "remove" },
  );
  return {
    oidcIssuer: env.SPACEGATE_OIDC_ISSUER,
    oidcClientId: env.SPACEGATE_OIDC_CLIENT_ID,
    oidcRoles: env.SPACEGATE_OIDC_ROLES ?? "",
    oidcRolesClaim: env.SPACEGATE_OIDC_ROLES_CLAIM ?? "groups",
  };
}

const issuer = on(env.SPACEGATE_COGNITO) ? cognito() : externalIssuer();

/** The sign-in settings every function is given, beside the rest of `Settings` (stacks/api.ts). */
export const signInSettings = {
  passwordLogin,
  ...issuer,
  ...(env.SPACEGATE_OIDC_SCOPES ? { oidcScopes: env.SPACEGATE_OIDC_SCOPES } : {}),
  ...(env.SPACEGATE_OIDC_REDIRECT_URL ? { oidcRedirectUrl: env.SPACEGATE_OIDC_REDIRECT_URL } : {}),
};
