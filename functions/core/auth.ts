import { createHmac, randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import { z } from "zod";
import { Actor } from "./actor";
import { Audit } from "./audit";
import { AppError } from "./errors";
import { Roles } from "./roles";
import { getRuntime } from "./runtime";
import { getOrCreateSecret, SecretName } from "./secrets";
import { Keys } from "./store/keys";

const scryptAsync = promisify(scrypt) as (
  password: string,
  salt: Buffer,
  keylen: number,
  options: object,
) => Promise<Buffer>;
const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 };
const ADMIN_KEY = Keys.admin();

/** The stored admin login: its scrypt hash, and the epoch every session is bound to. */
interface AdminItem {
  pk: string;
  sk: string;
  hash: string;
  /** New with every new hash, so changing the password signs every session out. */
  epoch?: string;
}

const SessionBase = {
  sid: z.string().regex(/^[A-Za-z0-9_-]{22}$/),
  epoch: z.string().max(64),
  exp: z.number().int().positive(),
};

/**
 * What a session token says, once its signature is checked; anything else is refused. A password
 * session is the admin's; a single sign-on session names the person and the role they were given.
 */
const Claims = z.union([
  z.strictObject({ sub: z.literal("admin"), ...SessionBase }),
  z.strictObject({
    via: z.literal("sso"),
    sub: z.string().min(1).max(255),
    email: z.string().max(320).optional(),
    name: z.string().max(200).optional(),
    role: Roles.Role,
    ...SessionBase,
  }),
]);
type Claims = z.infer<typeof Claims>;

/** A live session as the table keeps it; the token itself is never stored. */
interface SessionItem {
  pk: string;
  sk: string;
  id: string;
  method: "password" | "sso";
  person: Auth.Person;
  issuedAt: string;
  expiresAt: string;
  epoch: string;
  ttl: number;
  /** The identity provider's refresh token, sealed with the envelope key. */
  refreshToken?: string;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** Stored admin items from before epochs existed bind their sessions to this one. */
const FIRST_EPOCH = "initial";

export namespace Auth {
  export const Login = z.object({ password: z.string().min(1).max(1024) });
  /** The signed-in person as the UI shows them. */
  export const Person = z.object({
    id: z.string(),
    email: z.string().optional(),
    name: z.string().optional(),
    role: Roles.Role,
  });
  export type Person = z.infer<typeof Person>;
  export const Session = z.object({ token: z.string(), expiresAt: z.string(), person: Person });
  export type Session = z.infer<typeof Session>;
  /** A live session as an admin sees it: who, how they signed in, and when it ends. */
  export const SessionInfo = z.object({
    id: z.string(),
    person: Person,
    method: z.enum(["password", "sso"]),
    issuedAt: z.string(),
    expiresAt: z.string(),
  });
  export type SessionInfo = z.infer<typeof SessionInfo>;
  export const SessionId = z.string().regex(/^[A-Za-z0-9_-]{22}$/);

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
    const existing = await store.get<AdminItem>(ADMIN_KEY, {
      consistent: true,
    });
    if (fromEnvironment) {
      if (existing && (await verifyPassword(fromEnvironment, existing.hash))) return {};
      await store.put({
        ...ADMIN_KEY,
        hash: await hashPassword(fromEnvironment),
        epoch: randomBytes(12).toString("base64url"),
        updatedAt: now().toISOString(),
      });
      return {};
    }
    if (existing) return {};
    const generatedPassword = randomBytes(18).toString("base64url");
    await store.create({
      ...ADMIN_KEY,
      hash: await hashPassword(generatedPassword),
      epoch: randomBytes(12).toString("base64url"),
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
      );
    }
    if (ensuredPassword.get(store) === password) return;
    await ensureAdmin(password);
    ensuredPassword.set(store, password);
  }

  /**
   * Exchanges the admin password for a signed session token (12 hours), bound to the password's
   * epoch and carrying its own id, by which it can be signed out.
   */
  export async function login(password: string): Promise<Session> {
    const { store, config } = getRuntime();
    if (!config.passwordLogin) throw passwordLoginOff();
    const admin = await store.get<AdminItem>(ADMIN_KEY);
    if (!admin || !(await verifyPassword(password, admin.hash))) {
      throw new AppError("invalid_credentials", "The password is not correct.");
    }
    return issue({ sub: "admin" }, admin);
  }

  /**
   * A session for a person the identity provider signed in. It follows the password session's rules:
   * its own id for sign-out, and the admin password's epoch, so changing the password still signs
   * every session out.
   */
  export async function startSession(person: Person, sealedRefreshToken?: string): Promise<Session> {
    const admin = await getRuntime().store.get<AdminItem>(ADMIN_KEY, { consistent: true });
    return issue(
      {
        via: "sso",
        sub: person.id,
        role: person.role,
        ...(person.email ? { email: person.email } : {}),
        ...(person.name ? { name: person.name } : {}),
      },
      admin ?? undefined,
      sealedRefreshToken,
    );
  }

  async function issue(
    who: { sub: "admin" } | Omit<Extract<Claims, { via: "sso" }>, keyof typeof SessionBase>,
    admin: AdminItem | null | undefined,
    sealedRefreshToken?: string,
  ): Promise<Session> {
    const { config, now, store } = getRuntime();
    const issuedAt = now();
    const expiresAt = new Date(issuedAt.getTime() + config.sessionTtlSeconds * 1000);
    const claims = Claims.parse({
      ...who,
      sid: randomBytes(16).toString("base64url"),
      epoch: admin?.epoch ?? FIRST_EPOCH,
      exp: Math.floor(expiresAt.getTime() / 1000),
    });
    const body = Buffer.from(JSON.stringify(claims)).toString("base64url");
    const person = personOf(claims);
    const item: SessionItem = {
      ...Keys.session(claims.sid),
      id: claims.sid,
      method: "via" in claims ? "sso" : "password",
      person,
      issuedAt: issuedAt.toISOString(),
      expiresAt: expiresAt.toISOString(),
      epoch: claims.epoch,
      ttl: claims.exp,
      ...(sealedRefreshToken ? { refreshToken: sealedRefreshToken } : {}),
    };
    await store.put(item);
    return { token: `${body}.${await sign(body)}`, expiresAt: item.expiresAt, person };
  }

  /**
   * The sessions that would still be let in, newest first: not expired, not signed out, from the
   * admin password's current epoch, and password ones only while the password sign-in is on.
   */
  export async function listSessions(): Promise<SessionInfo[]> {
    const { store, now, config } = getRuntime();
    const admin = await store.get<AdminItem>(ADMIN_KEY);
    const epoch = admin?.epoch ?? FIRST_EPOCH;
    const nowSeconds = now().getTime() / 1000;
    const live: SessionInfo[] = [];
    for await (const item of store.all<SessionItem>(Keys.sessions())) {
      if (item.ttl <= nowSeconds || item.epoch !== epoch) continue;
      if (item.method === "password" && !config.passwordLogin) continue;
      live.push(SessionInfo.parse(item));
    }
    return live.sort((a, b) => b.issuedAt.localeCompare(a.issuedAt));
  }

  /** Ends one session at once, whoever holds it; its token answers 401 `session_revoked` from now on. */
  export async function revokeSession(sessionId: string, reason?: "identity_provider"): Promise<void> {
    const { store, now } = getRuntime();
    const item = SessionId.safeParse(sessionId).success
      ? await store.get<SessionItem>(Keys.session(sessionId), { consistent: true })
      : null;
    if (!item || item.ttl <= now().getTime() / 1000) {
      throw new AppError(
        "not_found",
        `No live session ${sessionId}: it may have ended already. Reload the list.`,
      );
    }
    await store.put({ ...Keys.revokedSession(item.id), ttl: item.ttl });
    await store.delete(Keys.session(item.id));
    await Audit.record(
      "auth.session.revoke",
      { type: "session", id: item.id, name: item.person.email ?? item.person.id },
      { person: item.person.id, method: item.method, ...(reason ? { reason } : {}) },
    );
  }

  /** The session a live token stands for: its id and the identity provider's sealed refresh token. */
  export async function sessionOf(token: string | undefined): Promise<{ id: string; refreshToken?: string }> {
    const claims = await readToken(token);
    const item = await getRuntime().store.get<SessionItem>(Keys.session(claims.sid), { consistent: true });
    return { id: claims.sid, ...(item?.refreshToken ? { refreshToken: item.refreshToken } : {}) };
  }

  /** Keeps the refresh token the identity provider handed out in place of the one just spent. */
  export async function replaceRefreshToken(sessionId: string, sealedRefreshToken: string): Promise<void> {
    const { store } = getRuntime();
    const item = await store.get<SessionItem>(Keys.session(sessionId), { consistent: true });
    if (item) await store.put({ ...item, refreshToken: sealedRefreshToken });
  }

  const personOf = (claims: Claims): Person =>
    "via" in claims
      ? {
          id: claims.sub,
          ...(claims.email ? { email: claims.email } : {}),
          ...(claims.name ? { name: claims.name } : {}),
          role: claims.role,
        }
      : { id: "admin", role: "admin" };

  const passwordLoginOff = () =>
    new AppError(
      "password_login_disabled",
      "Signing in with the password is turned off here: sign in with single sign-on.",
    );

  /**
   * The actor a session token stands for; 401 when it is missing, malformed, forged, expired,
   * signed out, or from before the admin password last changed.
   */
  export async function verifySession(token: string | undefined): Promise<Actor> {
    const claims = await readToken(token);
    const { store, now, config } = getRuntime();
    if (!("via" in claims) && !config.passwordLogin) {
      // 401, so the UI goes back to its sign-in page.
      throw new AppError(
        "session_revoked",
        "Signing in with the password is turned off here, and its sessions with it: sign in with single sign-on.",
      );
    }
    if (claims.exp * 1000 <= now().getTime()) {
      throw new AppError("session_expired", "The session has expired. Sign in again.");
    }
    const [admin, revoked] = await Promise.all([
      store.get<AdminItem>(ADMIN_KEY),
      store.get(Keys.revokedSession(claims.sid)),
    ]);
    if (revoked || !admin || (admin.epoch ?? FIRST_EPOCH) !== claims.epoch) {
      throw new AppError(
        "session_revoked",
        "This session was signed out or ended by an admin, or the admin password has changed since. Sign in again.",
      );
    }
    const person = personOf(claims);
    return { type: "admin", ...person };
  }

  /** Signs one session out for good: its id is refused until the token would have expired anyway. */
  export async function logout(token: string | undefined): Promise<void> {
    const claims = await readToken(token);
    const { store } = getRuntime();
    await store.put({ ...Keys.revokedSession(claims.sid), ttl: claims.exp });
    await store.delete(Keys.session(claims.sid));
    await Audit.record("auth.logout", { type: "session", id: Actor.current().id });
  }

  async function readToken(token: string | undefined): Promise<Claims> {
    const invalid = new AppError(
      "unauthorized",
      "Sign in first: send Authorization: Bearer <token> from POST /api/auth/login.",
    );
    const parts = (token ?? "").split(".");
    const [body, signature] = parts;
    if (parts.length !== 2 || !body || !signature || !BASE64URL.test(body) || body.length > 1024)
      throw invalid;
    const expected = Buffer.from(await sign(body));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw invalid;
    let payload: unknown;
    try {
      payload = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
    } catch {
      throw invalid;
    }
    const claims = Claims.safeParse(payload);
    if (!claims.success) throw invalid;
    return claims.data;
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
