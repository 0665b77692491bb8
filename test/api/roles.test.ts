import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROUTE_ROLES } from "../../functions/api/roles";
import { Auth } from "../../functions/core/auth";
import { Roles } from "../../functions/core/roles";
import { ADMIN_PASSWORD, startTestRuntime } from "../support/runtime";

let t: Awaited<ReturnType<typeof startTestRuntime>>;
const tokens: Partial<Record<Roles.Role, string>> = {};

beforeAll(async () => {
  t = await startTestRuntime();
  for (const role of Roles.Role.options) {
    const session = await Auth.startSession({ id: `sub-${role}`, email: `${role}@example.com`, role });
    tokens[role] = session.token;
  }
});
afterAll(() => t.close());

async function documentRoutes() {
  const document = (await t.request("GET", "/api/openapi.json", undefined, { token: null })).body as {
    paths: Record<string, Record<string, unknown>>;
  };
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
  );
}

describe("roles", () => {
  it("name the least role of every route in the OpenAPI document, and of no other", async () => {
    const routes = await documentRoutes();
    expect(routes.filter((route) => !(route in ROUTE_ROLES))).toEqual([]);
    expect(Object.keys(ROUTE_ROLES).filter((route) => !routes.includes(route))).toEqual([]);
  });

  it("refuse each role what it may not do with 403 forbidden_role, and nothing it may", async () => {
    const answers: string[] = [];
    for (const [route, needed] of Object.entries(ROUTE_ROLES)) {
      if (needed === "public" || route === "POST /api/auth/logout") continue;
      const [method, path] = route.split(" ") as [string, string];
      const url = path.replace(/\{[^}]+\}/g, "missing");
      for (const role of Roles.Role.options) {
        const response = await t.request(method, url, method === "GET" ? undefined : {}, {
          token: tokens[role],
        });
        const refused = response.status === 403 && response.body?.code === "forbidden_role";
        answers.push(`${route} as ${role}: ${refused ? "refused" : "allowed"}`);
        expect(refused, `${route} as ${role}`).toBe(!Roles.allows(role, needed));
      }
    }
    expect(answers).toContain(
      "POST /api/instances/{id}/access/{platformId}/{spaceId}/reveal as viewer: refused",
    );
    expect(answers).toContain("POST /api/keys/rotate as operator: refused");
    expect(answers).toContain("POST /api/syncs/{id}/retry as operator: allowed");
  });

  it("say who is signed in, with the role", async () => {
    const response = await t.request("GET", "/api/auth/session", undefined, { token: tokens.operator });
    expect(response.body).toEqual({ id: "sub-operator", email: "operator@example.com", role: "operator" });
  });
});

describe("the password as break-glass", () => {
  it("is refused once turned off, and so are the sessions it started; single sign-on ones stay", async () => {
    const password = (
      await t.request("POST", "/api/auth/login", { password: ADMIN_PASSWORD }, { token: null })
    ).body.token as string;
    t.runtime.config.passwordLogin = false;
    try {
      const login = await t.request("POST", "/api/auth/login", { password: ADMIN_PASSWORD }, { token: null });
      expect(login).toMatchObject({ status: 403, body: { code: "password_login_disabled" } });
      expect((await t.request("GET", "/api/platforms", undefined, { token: password })).status).toBe(401);
      expect((await t.request("GET", "/api/platforms", undefined, { token: tokens.viewer })).status).toBe(
        200,
      );
      expect((await t.request("GET", "/api/auth/methods", undefined, { token: null })).body).toEqual({
        password: false,
        sso: false,
      });
    } finally {
      t.runtime.config.passwordLogin = true;
    }
    expect((await t.request("GET", "/api/platforms", undefined, { token: password })).status).toBe(200);
  });
});

describe("role mapping", () => {
  const rules = Roles.parseMapping("admin:spacegate-admins, operator:ops, viewer:@Example.com");

  it("gives the highest role any group or the e-mail domain maps to", () => {
    expect(Roles.fromClaims(rules, { groups: ["ops", "spacegate-admins"] })).toBe("admin");
    expect(Roles.fromClaims(rules, { groups: ["ops"], email: "a@example.com" })).toBe("operator");
    expect(Roles.fromClaims(rules, { groups: [], email: "a@EXAMPLE.com" })).toBe("viewer");
  });

  it("gives no role to others, nor to an address the issuer has not verified", () => {
    expect(Roles.fromClaims(rules, { groups: ["other"], email: "a@example.org" })).toBeUndefined();
    expect(
      Roles.fromClaims(rules, { groups: [], email: "a@example.com", emailVerified: false }),
    ).toBeUndefined();
  });

  it("refuses a mapping it cannot read, naming the entry", () => {
    expect(() => Roles.parseMapping("owner:everyone")).toThrow(/owner:everyone/);
    expect(() => Roles.parseMapping("admin")).toThrow(/role:group or role:@domain/);
  });
});
