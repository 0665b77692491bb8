import { createHmac, randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import { z } from "zod";
import type { Actor } from "./actor";
import { AppError } from "./errors";
import { getRuntime } from "./runtime";
import { getOrCreateSecret, SecretName } from "./secrets";

const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: object,
) => Promise<Buffer>;
const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 };
const ADMIN_KEY = { pk: "ADMIN", sk: "PASSWORD" };

export namespace Auth {
  export const Login = z.object({ password: z.string().min(1).max(1024) });
  export const Session = z.object({ token: z.string(), expiresAt: z.string() });
  export type Session = z.infer<typeof Session>;

  export async function hashPassword(password: string): Promise<string> {
    const salt = randomBytes(16);
    const hash = await scryptAsync(password, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p });
    return ["scrypt", SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString("base64"), hash.toString("base64")].join(
      "$",
    );
  }

  export async function verifyPassword(password: string, stored: string): Promise<boolean> {
    const [scheme, n, r, p, salt, hash] = stored.split("$");
    if (scheme !== "scrypt" || !salt || !hash) return false;
    const expected = Buffer.from(hash, "base64");
    const actual = await scryptAsync(password, Buffer.from(salt, "base64"), expected.length, {
      N: Number(n),
      r: Number(r),
      p: Number(p),
    });
    return timingSafeEqual(actual, expected);
  }

  /**
   * Makes sure an admin password exists. A password from the environment always wins (its hash is
   * stored when it changes); otherwise one is generated on first start and returned once, so the
   * caller can print it. Only the scrypt hash is ever stored.
   */
  export async function ensureAdmin(fromEnvironment?: string): Promise<{ generatedPassword?: string }> {
    const { store, now } = getRuntime();
    const existing = await store.get<{ pk: string; sk: string; hash: string }>(ADMIN_KEY, {
      consistent: true,
    });
    if (fromEnvironment) {
      if (existing && (await verifyPassword(fromEnvironment, existing.hash))) return {};
      await store.put({
        ...ADMIN_KEY,
        hash: await hashPassword(fromEnvironment),
        updatedAt: now().toISOString(),
      });
      return {};
    }
    if (existing) return {};
    const generatedPassword = randomBytes(18).toString("base64url");
    await store.create({
      ...ADMIN_KEY,
      hash: await hashPassword(generatedPassword),
      updatedAt: now().toISOString(),
    });
    return { generatedPassword };
  }

  const ensuredPassword = new WeakMap<object, string>();

  /**
   * On AWS the admin password is the `admin-password` secret: an admin may set it; otherwise the
   * first cold start generates one and stores it there, where the admin reads it. Its hash is stored
   * again whenever the secret changes, which takes effect within the secret cache's lifetime.
   */
  export async function ensureAdminFromSecret(): Promise<void> {
    const { store, secrets } = getRuntime();
    const stored = await getOrCreateSecret(secrets, SecretName.adminPassword, () =>
      randomBytes(18).toString("base64url"),
    );
    const password = stored.trim();
    if (!password) {
      throw new AppError(
        "admin_password_blank",
        `The ${SecretName.adminPassword} secret is blank: put a password in it (see the README, Deploy).`,
        { status: 503 },
      );
    }
    if (ensuredPassword.get(store) === password) return;
    await ensureAdmin(password);
    ensuredPassword.set(store, password);
  }

  /** Exchanges the admin password for a signed session token (12 hours). */
  export async function login(password: string): Promise<Session> {
    const { store, config, now } = getRuntime();
    const admin = await store.get<{ pk: string; sk: string; hash: string }>(ADMIN_KEY);
    if (!admin || !(await verifyPassword(password, admin.hash))) {
      throw new AppError("invalid_credentials", "The password is not correct.", { status: 401 });
    }
    const expiresAt = new Date(now().getTime() + config.sessionTtlSeconds * 1000);
    const payload = Buffer.from(
      JSON.stringify({ sub: "admin", exp: Math.floor(expiresAt.getTime() / 1000) }),
    );
    const body = payload.toString("base64url");
    return { token: `${body}.${await sign(body)}`, expiresAt: expiresAt.toISOString() };
  }

  /** The actor a session token stands for; 401 `unauthorized` when it is missing, forged or expired. */
  export async function verifySession(token: string | undefined): Promise<Actor> {
    const invalid = new AppError(
      "unauthorized",
      "Sign in first: send Authorization: Bearer <token> from POST /api/auth/login.",
      {
        status: 401,
      },
    );
    const [body, signature] = (token ?? "").split(".");
    if (!body || !signature) throw invalid;
    const expected = Buffer.from(await sign(body));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw invalid;
    const claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as {
      sub: string;
      exp: number;
    };
    if (claims.exp * 1000 <= getRuntime().now().getTime()) {
      throw new AppError("session_expired", "The session has expired. Sign in again.", { status: 401 });
    }
    return { type: "admin", id: claims.sub };
  }

  async function sign(body: string) {
    return createHmac("sha256", await sessionKey())
      .update(body)
      .digest("base64url");
  }

  let cachedKey: { secrets: unknown; key: Promise<Buffer> } | undefined;

  async function sessionKey(): Promise<Buffer> {
    const { secrets } = getRuntime();
    if (cachedKey?.secrets !== secrets) {
      const key = getOrCreateSecret(secrets, SecretName.sessionKey, () =>
        randomBytes(32).toString("base64"),
      ).then((stored) => Buffer.from(stored, "base64"));
      cachedKey = { secrets, key };
    }
    return cachedKey.key;
  }
}
