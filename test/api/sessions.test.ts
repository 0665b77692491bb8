import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Auth } from "../../functions/core/auth";
import { SecretName } from "../../functions/core/secrets";
import { ADMIN_PASSWORD, startTestRuntime } from "../support/runtime";

let t: Awaited<ReturnType<typeof startTestRuntime>>;

beforeAll(async () => {
  t = await startTestRuntime();
});
afterAll(() => t.close());

const login = async (password = ADMIN_PASSWORD, headers: Record<string, string> = {}) =>
  t.request("POST", "/api/auth/login", { password }, { token: null, headers });

const listWith = async (token: string) =>
  (await t.request("GET", "/api/platforms", undefined, { token })).status;

/** A token whose body is signed with the real session key, whatever the body says. */
async function signedBody(body: string) {
  const key = Buffer.from((await t.runtime.secrets.get(SecretName.sessionKey)) ?? "", "base64");
  return `${body}.${createHmac("sha256", key).update(body).digest("base64url")}`;
}

const signed = (claims: unknown) => signedBody(Buffer.from(JSON.stringify(claims)).toString("base64url"));

describe("sign-in limit", () => {
  it("limits wrong passwords sent all at once like ones sent one after another", async () => {
    const headers = { "x-forwarded-for": "198.51.100.40" };
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => login(`wrong-${i}`, headers).then((response) => response.status)),
    );
    expect(answers.filter((status) => status === 401)).toHaveLength(10);
    expect(answers.filter((status) => status === 429)).toHaveLength(20);
    expect((await login(ADMIN_PASSWORD, headers)).status).toBe(429);
  });

  it("does not count a successful sign-in against its client", async () => {
    const headers = { "x-forwarded-for": "198.51.100.41" };
    for (let i = 0; i < 9; i++) expect((await login(`wrong-${i}`, headers)).status).toBe(401);
    expect((await login(ADMIN_PASSWORD, headers)).status).toBe(200);
    expect((await login("wrong-again", headers)).status).toBe(401);
    expect((await login("wrong-once-more", headers)).status).toBe(429);
  });
});

describe("sessions", () => {
  it("signs the presented session out, and only that one", async () => {
    const first = (await login()).body.token as string;
    const second = (await login()).body.token as string;
    const out = await t.request("POST", "/api/auth/logout", undefined, { token: first });
    expect(out.status).toBe(204);
    const after = await t.request("GET", "/api/platforms", undefined, { token: first });
    expect(after.status).toBe(401);
    expect(after.body.code).toBe("session_revoked");
    expect((await t.request("POST", "/api/auth/logout", undefined, { token: first })).status).toBe(401);
    expect(await listWith(second)).toBe(200);
    expect((await t.request("POST", "/api/auth/logout", undefined, { token: null })).status).toBe(401);
  });

  it("signs every session out when the admin password changes", async () => {
    const before = (await login()).body.token as string;
    expect(await listWith(before)).toBe(200);

    await Auth.ensureAdmin("a new admin password, long enough");
    expect(await listWith(before)).toBe(401);
    expect(await listWith(t.token)).toBe(401);
    const fresh = (await login("a new admin password, long enough")).body.token as string;
    expect(await listWith(fresh)).toBe(200);

    await Auth.ensureAdmin("a new admin password, long enough");
    expect(await listWith(fresh)).toBe(200);
    await Auth.ensureAdmin(ADMIN_PASSWORD);
    expect(await listWith(fresh)).toBe(401);
  });

  it("refuses malformed tokens with 401, never more", async () => {
    const token = (await login()).body.token as string;
    const [body, signature] = token.split(".") as [string, string];
    const claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
    const { exp: _, ...withoutExp } = claims;
    const malformed = {
      "an extra segment": `${token}.extra`,
      "two extra segments": `${body}.${signature}.${signature}`,
      "a padded signature": `${token}=`,
      "a signature in base64": `${body}.${signature.replace(/-/g, "+").replace(/_/g, "/")}x`,
      "a body with padding": `${body}=.${signature}`,
      "no signature": `${body}.`,
      "only a signature": `.${signature}`,
      "no exp": await signed(withoutExp),
      "a string exp": await signed({ ...claims, exp: String(claims.exp) }),
      "another subject": await signed({ ...claims, sub: "root" }),
      "extra claims": await signed({ ...claims, admin: true }),
      "a signed body that is not JSON": await signedBody(Buffer.from("not json").toString("base64url")),
      "a signed array": await signed([claims]),
    };
    for (const [what, value] of Object.entries(malformed)) {
      const response = await t.request("GET", "/api/platforms", undefined, { token: value });
      expect(response.status, what).toBe(401);
    }
    expect(await listWith(await signed(claims))).toBe(200);
  });
});

describe("the sessions list", () => {
  it("shows an admin every live session, who and how, never a token", async () => {
    const password = (await login()).body.token as string;
    const viewer = await Auth.startSession({
      id: "sub-list-viewer",
      email: "list@example.com",
      role: "viewer",
    });
    const gone = (await login()).body.token as string;
    await t.request("POST", "/api/auth/logout", undefined, { token: gone });

    const response = await t.request("GET", "/api/sessions", undefined, { token: password });
    expect(response.status).toBe(200);
    const items = response.body.items as Auth.SessionInfo[];
    expect(items).toContainEqual({
      id: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      person: { id: "sub-list-viewer", email: "list@example.com", role: "viewer" },
      method: "sso",
      issuedAt: expect.any(String),
      expiresAt: viewer.expiresAt,
    });
    expect(items.filter((item) => item.method === "password").length).toBeGreaterThan(0);
    const text = JSON.stringify(response.body);
    for (const token of [password, viewer.token, gone]) {
      expect(text).not.toContain(token.split(".")[1]);
      expect(text).not.toContain(token.split(".")[0]);
    }
    const goneId = JSON.parse(Buffer.from(gone.split(".")[0] ?? "", "base64url").toString()).sid;
    expect(items.map((item) => item.id)).not.toContain(goneId);
  });

  it("lets an admin end a session at once, recorded under the admin", async () => {
    const admin = await Auth.startSession({ id: "sub-revoker", email: "revoker@example.com", role: "admin" });
    const viewer = await Auth.startSession({
      id: "sub-revoked",
      email: "revoked@example.com",
      role: "viewer",
    });
    expect(await listWith(viewer.token)).toBe(200);
    const items = (await t.request("GET", "/api/sessions", undefined, { token: admin.token })).body
      .items as Auth.SessionInfo[];
    const target = items.find((item) => item.person.id === "sub-revoked");
    expect(target).toBeDefined();

    const refused = await t.request("DELETE", `/api/sessions/${target?.id}`, undefined, {
      token: viewer.token,
    });
    expect(refused).toMatchObject({ status: 403, body: { code: "forbidden_role" } });

    const revoked = await t.request("DELETE", `/api/sessions/${target?.id}`, undefined, {
      token: admin.token,
    });
    expect(revoked.status).toBe(204);
    const after = await t.request("GET", "/api/platforms", undefined, { token: viewer.token });
    expect(after).toMatchObject({ status: 401, body: { code: "session_revoked" } });
    const listed = (await t.request("GET", "/api/sessions", undefined, { token: admin.token })).body
      .items as Auth.SessionInfo[];
    expect(listed.map((item) => item.id)).not.toContain(target?.id);

    const again = await t.request("DELETE", `/api/sessions/${target?.id}`, undefined, { token: admin.token });
    expect(again).toMatchObject({ status: 404, body: { code: "not_found" } });
    const unknown = await t.request("DELETE", "/api/sessions/not-a-session", undefined, {
      token: admin.token,
    });
    expect(unknown).toMatchObject({ status: 404, body: { code: "not_found" } });

    const audit = await t.request("GET", "/api/audit?action=auth.session.revoke", undefined, {
      token: admin.token,
    });
    expect(audit.body.items).toHaveLength(1);
    expect(audit.body.items[0]).toMatchObject({
      actor: { id: "sub-revoker", email: "revoker@example.com", role: "admin" },
      target: { type: "session", id: target?.id, name: "revoked@example.com" },
    });
  });
});
