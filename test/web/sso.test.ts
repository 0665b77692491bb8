import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { logger } from "../../functions/core/log";
import { SecretName } from "../../functions/core/secrets";
import { Keys } from "../../functions/core/store/keys";
import { startLocal } from "../../functions/local/server";
import { type Browser, launchBrowser } from "../support/browser";
import { type OidcProvider, startOidcProvider } from "../support/oidc-provider";
import { buildWeb } from "../support/web-build";

const PASSWORD = "break-glass password, long enough";
const PEOPLE = {
  alice: { email: "alice@example.com", name: "Alice Admin", groups: ["spacegate-admins"] },
  oscar: { email: "oscar@example.com", name: "Oscar Operator", groups: ["spacegate-operators", "staff"] },
  vera: { email: "vera@viewers.example", name: "Vera Viewer", groups: [] },
  nora: { email: "nora@elsewhere.example", name: "Nora Nobody", groups: ["marketing"] },
};
type Login = keyof typeof PEOPLE;

let provider: OidcProvider;
let local: Awaited<ReturnType<typeof startLocal>>;
let browser: Browser;
let dataDir: string;
let webDir: string;

/** A port free right now, so the redirect address can be registered before the product starts. */
async function freePort() {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  logger.setLogLevel("WARN");
  dataDir = mkdtempSync(path.join(tmpdir(), "spacegate-sso-"));
  webDir = mkdtempSync(path.join(tmpdir(), "spacegate-sso-web-"));
  const port = await freePort();
  const redirectUrl = `http://localhost:${port}/`;
  [provider] = await Promise.all([
    startOidcProvider({
      clientId: "spacegate",
      clientSecret: "client-secret",
      redirectUri: redirectUrl,
      people: PEOPLE,
    }),
    buildWeb(webDir),
  ]);
  local = await startLocal({
    dataDir,
    port,
    adminPassword: PASSWORD,
    inMemory: true,
    webDir,
    config: {
      sso: {
        issuer: provider.issuer,
        clientId: "spacegate",
        redirectUrl,
        roles: "admin:spacegate-admins,operator:spacegate-operators,viewer:@viewers.example",
        rolesClaim: "groups",
        scopes: "groups",
      },
    },
  });
  // The client secret is read from the secret store, as on AWS.
  await local.runtime.secrets.put(SecretName.oidcClientSecret, "client-secret");
  browser = await launchBrowser();
  // The provider's development pages import a web font; nothing here leaves the machine.
  await browser.context.route(/^https:\/\//, (route) => route.abort());
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await local?.close();
  await provider?.close();
  for (const dir of [dataDir, webDir]) if (dir) rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => provider.tamperIdTokens(undefined));

/** Goes through the provider's sign-in and consent pages as `login`; returns the callback's body. */
async function signIn(login: Login) {
  const { page } = browser;
  await browser.context.clearCookies();
  await page.goto(`${local.url}/`);
  await page.evaluate("sessionStorage.clear()");
  await page.reload();
  const callback = page.waitForRequest((request) => request.url().endsWith("/api/auth/sso/callback"));
  await page.getByRole("button", { name: "Sign in with single sign-on" }).click();
  await page.waitForURL((url) => url.href.startsWith(provider.issuer));
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill("any password");
  await page.getByRole("button", { name: "Sign-in" }).click();
  const consent = page.getByRole("button", { name: "Continue" });
  await consent.or(page.locator(".login, .shell").first()).first().waitFor();
  if (await consent.isVisible()) await consent.click();
  const request = await callback;
  await request.response();
  return JSON.parse(request.postData() ?? "{}") as { code: string; state: string; iss?: string };
}

const signedInToken = () =>
  browser.page.evaluate<string>("JSON.parse(sessionStorage.getItem('spacegate.session') ?? 'null')?.token");

async function call(method: string, route: string, token?: string, body?: unknown) {
  const response = await fetch(`${local.url}${route}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

const refusal = () => browser.page.getByRole("alert").textContent();

describe("single sign-on in the browser", () => {
  it("signs three people in with three roles; each may do what the role allows, and the audit log names them", async () => {
    const tokens: Partial<Record<Login, string>> = {};
    for (const login of ["alice", "oscar", "vera"] as const) {
      await signIn(login);
      await browser.page.getByTestId("signed-in-as").waitFor();
      tokens[login] = await signedInToken();
      if (login === "alice") await browser.page.getByRole("link", { name: "Add platform" }).waitFor();
    }
    expect(await browser.page.getByTestId("signed-in-as").textContent()).toBe("Vera Viewer · viewer");
    expect(await browser.page.getByRole("link", { name: "Add platform" }).count()).toBe(0);
    // A form reached by its address offers a viewer nothing to send.
    await browser.page.goto(`${local.url}/#/platforms/new`);
    await browser.page.getByText("Only an admin can add or change a platform.").waitFor();
    expect(await browser.page.getByRole("button", { name: "Save platform" }).count()).toBe(0);
    await browser.page.goto(`${local.url}/#/instances/new`);
    await browser.page.getByLabel("Name", { exact: false }).first().waitFor();
    expect(await browser.page.getByRole("button", { name: "Save and list tools" }).count()).toBe(0);

    const created = await call("POST", "/api/instances", tokens.alice, {
      name: "Docs",
      upstream: { url: "http://127.0.0.1:9/mcp", transport: "streamable-http" },
    });
    expect(created.status).toBe(201);
    const instanceId = created.body.id as string;
    expect(
      (await call("PATCH", `/api/instances/${instanceId}`, tokens.oscar, { description: "by oscar" })).status,
    ).toBe(200);
    const operatorCreate = await call("POST", "/api/platforms", tokens.oscar, {});
    expect(operatorCreate).toMatchObject({ status: 403, body: { code: "forbidden_role" } });
    expect((await call("GET", `/api/instances/${instanceId}`, tokens.vera)).status).toBe(200);
    const reveal = await call("POST", `/api/instances/${instanceId}/access/plt_x/space/reveal`, tokens.vera);
    expect(reveal).toMatchObject({ status: 403, body: { code: "forbidden_role" } });

    const byOscar = await call("GET", "/api/audit?actor=oscar%40example.com", tokens.vera);
    expect(byOscar.body.items.map((event: { action: string }) => event.action)).toEqual([
      "instance.update",
      "auth.login",
    ]);
    expect(byOscar.body.items[0].actor).toMatchObject({
      id: "oscar",
      email: "oscar@example.com",
      role: "operator",
    });
    const byAlice = await call("GET", "/api/audit?actor=alice", tokens.vera);
    expect(byAlice.body.items[0]).toMatchObject({
      action: "instance.create",
      actor: { email: "alice@example.com" },
    });

    await browser.page.goto(`${local.url}/#/audit`);
    const aliceCells = browser.page.getByRole("cell", { name: /Alice Admin/ });
    await aliceCells.first().waitFor();
    await browser.page.getByLabel("Person").fill("oscar@example.com");
    await aliceCells.first().waitFor({ state: "detached" });
    expect(await browser.page.getByRole("cell", { name: /Oscar Operator/ }).count()).toBe(2);
  });

  it("refuses a person no role is mapped to, with a page that says why", async () => {
    await signIn("nora");
    expect(await refusal()).toMatch(/no role in Spacegate is given to your groups \(marketing\)/);
  });

  it("refuses an ID token issued for another audience", async () => {
    await provider.tamperIdTokens((claims) => ({ ...claims, aud: "another-app" }));
    await signIn("alice");
    expect(await refusal()).toMatch(/refused: .*"aud"/);
  });

  it("refuses an expired ID token", async () => {
    const past = Math.floor(Date.now() / 1000) - 3600;
    await provider.tamperIdTokens((claims) => ({ ...claims, iat: past - 600, exp: past }));
    await signIn("alice");
    expect(await refusal()).toMatch(/refused: .*"exp"/);
  });

  it("refuses an ID token signed with a key the issuer never published", async () => {
    await provider.tamperIdTokens((claims) => claims, { foreignKey: true });
    await signIn("alice");
    expect(await refusal()).toMatch(/refused: .*signature/);
  });

  it("refuses a code used twice, and a code carried into another sign-in", async () => {
    const spent = await signIn("oscar");
    await browser.page.getByTestId("signed-in-as").waitFor();
    const again = await call("POST", "/api/auth/sso/callback", undefined, spent);
    expect(again).toMatchObject({ status: 400, body: { code: "sso_attempt_unknown" } });
    const other = (await call("POST", "/api/auth/sso/start")).body as { state: string };
    const carried = await call("POST", "/api/auth/sso/callback", undefined, { ...spent, state: other.state });
    expect(carried).toMatchObject({ status: 401, body: { code: "sso_refused" } });
    expect(carried.body.message).toMatch(/invalid_grant/);
  });

  it("picks up a signing key the issuer rotated", async () => {
    await provider.rotateKey();
    expect(provider.keyId).toBe("key-1");
    await signIn("alice");
    await browser.page.getByTestId("signed-in-as").waitFor();
    expect(await browser.page.getByTestId("signed-in-as").textContent()).toBe("Alice Admin · admin");
  });

  it("signs out: the session ends, and its token is refused", async () => {
    await signIn("oscar");
    await browser.page.getByTestId("signed-in-as").waitFor();
    const token = await signedInToken();
    await browser.page.getByRole("button", { name: "Sign out" }).click();
    await browser.page.getByRole("button", { name: "Sign in with single sign-on" }).waitFor();
    expect(await call("GET", "/api/platforms", token)).toMatchObject({
      status: 401,
      body: { code: "session_revoked" },
    });
  });

  it("ends a session on its next refresh once the identity provider has ended its own", async () => {
    await signIn("oscar");
    await browser.page.getByTestId("signed-in-as").waitFor();
    const token = await signedInToken();
    expect(await call("POST", "/api/auth/refresh", token)).toMatchObject({ status: 204 });

    const sessions = await call(
      "GET",
      "/api/sessions",
      (await call("POST", "/api/auth/login", undefined, { password: PASSWORD })).body.token,
    );
    const sessionId = sessions.body.items.find((s: { person: { id: string } }) => s.person.id === "oscar").id;
    const stored = await local.runtime.store.get<{ pk: string; sk: string; refreshToken: string }>(
      Keys.session(sessionId),
    );
    expect(stored?.refreshToken).toMatch(/^sg1\./);
    await provider.endGrantOf(await local.runtime.envelope.decrypt(stored?.refreshToken ?? ""));

    const refreshed = await call("POST", "/api/auth/refresh", token);
    expect(refreshed).toMatchObject({ status: 401, body: { code: "session_revoked" } });
    expect(refreshed.body.message).toMatch(/identity provider has ended your session/);
    expect(await call("GET", "/api/platforms", token)).toMatchObject({
      status: 401,
      body: { code: "session_revoked" },
    });
  });

  it("keeps the password as a way in beside single sign-on", async () => {
    const methods = await call("GET", "/api/auth/methods");
    expect(methods.body).toEqual({ password: true, sso: true });
    const login = await call("POST", "/api/auth/login", undefined, { password: PASSWORD });
    expect(login.body.person).toEqual({ id: "admin", role: "admin" });
  });
});
