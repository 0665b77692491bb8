import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  SignJWT,
} from "jose";
import Provider from "oidc-provider";

/** A person the test provider knows, by the login typed into its sign-in form. */
export interface TestPerson {
  email: string;
  name: string;
  groups: string[];
}

export interface OidcProviderOptions {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  people: Record<string, TestPerson>;
}

async function signingKey(kid: string): Promise<JWK> {
  const { privateKey } = await generateKeyPair("RS256", { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg: "RS256", use: "sig" };
}

/**
 * A real OpenID provider (`oidc-provider`, with its development sign-in and consent forms) on a
 * loopback port. Its signing key can be rotated, and the ID token of the next code exchange can be
 * rewritten and signed again with the provider's own key (another audience, an expiry in the past).
 */
export async function startOidcProvider(options: OidcProviderOptions) {
  let generation = 0;
  let key = await signingKey("key-0");
  let tamper: ((claims: Record<string, unknown>) => Record<string, unknown>) | undefined;
  let signWith: JWK | undefined;
  let provider: Provider;
  let handler: (req: IncomingMessage, res: ServerResponse) => void;

  const server = createServer((req, res) => {
    if (tamper && req.method === "POST" && req.url?.startsWith("/token")) rewriteIdToken(res, tamper);
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  function build() {
    provider = new Provider(issuer, {
      clients: [
        {
          client_id: options.clientId,
          client_secret: options.clientSecret,
          redirect_uris: [options.redirectUri],
          post_logout_redirect_uris: [options.redirectUri],
          grant_types: ["authorization_code", "refresh_token"],
          response_types: ["code"],
        },
      ],
      jwks: { keys: [key] },
      claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"], groups: ["groups"] },
      conformIdTokenClaims: false,
      // Refresh tokens for every sign-in, without the consent prompt offline_access would ask for.
      issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed("refresh_token"),
      pkce: { required: () => true },
      cookies: { keys: ["test-provider-cookie-key"] },
      findAccount: (_ctx, id) => {
        const person = options.people[id];
        if (!person) return undefined;
        return {
          accountId: id,
          claims: () => ({ sub: id, email_verified: true, ...person }),
        };
      },
    });
    handler = provider.callback();
  }

  function rewriteIdToken(
    res: ServerResponse,
    change: (claims: Record<string, unknown>) => Record<string, unknown>,
  ) {
    const chunks: Buffer[] = [];
    const end = res.end.bind(res);
    res.write = ((chunk: Buffer | string) => {
      chunks.push(Buffer.from(chunk));
      return true;
    }) as typeof res.write;
    res.end = ((chunk?: Buffer | string) => {
      if (chunk) chunks.push(Buffer.from(chunk));
      void (async () => {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        if (typeof body.id_token === "string") {
          const header = decodeProtectedHeader(body.id_token);
          const privateKey = await importJWK(signWith ?? key, "RS256");
          body.id_token = await new SignJWT(change(decodeJwt(body.id_token)))
            .setProtectedHeader({ alg: "RS256", kid: header.kid })
            .sign(privateKey);
        }
        const text = JSON.stringify(body);
        res.setHeader("content-length", Buffer.byteLength(text));
        end(text);
      })();
      return res;
    }) as typeof res.end;
  }

  build();
  return {
    issuer,
    /**
     * Rewrites the ID token of the next code exchanges with `change` (none when undefined), signed
     * with the provider's key, or with a key of the same id the provider never published.
     */
    async tamperIdTokens(
      change?: (claims: Record<string, unknown>) => Record<string, unknown>,
      options: { foreignKey?: boolean } = {},
    ) {
      tamper = change;
      signWith = options.foreignKey ? { ...(await signingKey(key.kid ?? "")), kid: key.kid } : undefined;
    },
    /** A new signing key with a new id, the old one gone, as an issuer's key rotation leaves it. */
    async rotateKey() {
      generation += 1;
      key = await signingKey(`key-${generation}`);
      build();
    },
    /** Ends, at the provider, the grant a refresh token belongs to, as signing out there does. */
    async endGrantOf(refreshToken: string) {
      const token = await provider.RefreshToken.find(refreshToken);
      const grant = token?.grantId ? await provider.Grant.find(token.grantId) : undefined;
      if (!grant) throw new Error("The provider knows no grant for this refresh token.");
      await grant.destroy();
    },
    get keyId() {
      return key.kid;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export type OidcProvider = Awaited<ReturnType<typeof startOidcProvider>>;
