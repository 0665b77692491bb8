import { readFileSync } from "node:fs";
import { handle } from "hono/aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lambdaContext, restProxyEvent } from "../support/lambda-events";
import { ADMIN_PASSWORD, startTestRuntime } from "../support/runtime";

let t: Awaited<ReturnType<typeof startTestRuntime>>;

beforeAll(async () => {
  t = await startTestRuntime();
});
afterAll(() => t.close());

describe("admin auth", () => {
  it("answers health without a session", async () => {
    const response = await t.request("GET", "/api/health", undefined, { token: null });
    expect(response.status).toBe(200);
    expect(response.body.status).toBe("ok");
  });

  it("requires a session on every other route", async () => {
    for (const [method, url] of [
      ["GET", "/api/platforms"],
      ["POST", "/api/platforms"],
      ["GET", "/api/audit"],
    ] as const) {
      const response = await t.request(method, url, undefined, { token: null });
      expect(response.status, `${method} ${url}`).toBe(401);
      expect(response.body.code).toBe("unauthorized");
    }
    const forged = await t.request("GET", "/api/platforms", undefined, {
      token: `${t.token.split(".")[0]}.forged`,
    });
    expect(forged.status).toBe(401);
  });

  it("signs in with the admin password and refuses a wrong one", async () => {
    const ok = await t.request("POST", "/api/auth/login", { password: ADMIN_PASSWORD }, { token: null });
    expect(ok.status).toBe(200);
    expect(new Date(ok.body.expiresAt).getTime() - Date.now()).toBeGreaterThan(11 * 3600 * 1000);
    const list = await t.request("GET", "/api/platforms", undefined, { token: ok.body.token });
    expect(list.status).toBe(200);

    const wrong = await t.request("POST", "/api/auth/login", { password: "nope" }, { token: null });
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe("invalid_credentials");
  });

  it("answers 429 after ten failed sign-ins a minute from one client", async () => {
    const headers = { "x-forwarded-for": "198.51.100.9" };
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      statuses.push(
        (await t.request("POST", "/api/auth/login", { password: `wrong-${i}` }, { token: null, headers }))
          .status,
      );
    }
    expect(statuses.slice(0, 10).every((status) => status === 401)).toBe(true);
    const limited = await t.request(
      "POST",
      "/api/auth/login",
      { password: ADMIN_PASSWORD },
      { token: null, headers },
    );
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe("rate_limited");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    const otherClient = await t.request(
      "POST",
      "/api/auth/login",
      { password: ADMIN_PASSWORD },
      { token: null },
    );
    expect(otherClient.status).toBe(200);
  });
});

describe("request handling", () => {
  it("answers unknown routes with a JSON 404", async () => {
    const response = await t.request("GET", "/api/nothing-here");
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({ code: "not_found" });
  });

  it("answers invalid JSON with 400 invalid_request", async () => {
    const response = await t.request("POST", "/api/platforms", undefined, { raw: "{not json" });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe("invalid_request");
  });

  it("answers bodies over 1 MB with 413", async () => {
    const response = await t.request("POST", "/api/platforms", undefined, {
      raw: JSON.stringify({ name: "x".repeat(1_100_000) }),
    });
    expect(response.status).toBe(413);
    expect(response.body.code).toBe("payload_too_large");
  });

  it("names each invalid field", async () => {
    const response = await t.request("POST", "/api/platforms", {
      name: "",
      kind: "dify-cloud",
      database: { port: 70000 },
    });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe("invalid_request");
    const paths = response.body.details.map((detail: { path: string }) => detail.path);
    expect(paths).toEqual(
      expect.arrayContaining(["name", "kind", "database.port", "database.host", "database.password"]),
    );
  });

  it("says in plain words what each field needs, once per field, naming a bad header by its name", async () => {
    const empty = await t.request("POST", "/api/platforms/check", {
      host: "",
      port: 5432,
      user: "",
      password: "",
    });
    expect(empty.body.details).toEqual([
      { path: "host", message: "Enter the database server's host name or IP address" },
      { path: "database", message: "Enter the database name (Dify's default is dify)" },
      { path: "user", message: "Enter the database user" },
      { path: "password", message: "Enter the database password" },
    ]);
    const instance = await t.request("POST", "/api/instances", {
      name: "",
      upstream: { url: "https://mcp.example.test/mcp", transport: "streamable-http" },
      headers: { "X Api Key": "secret-value" },
    });
    expect(instance.body.details).toEqual([
      { path: "name", message: "Enter a name" },
      { path: "headers.X Api Key", message: "A header name has letters, digits and - only, no spaces" },
    ]);
    for (const response of [empty, instance]) {
      expect(response.status).toBe(400);
      expect(response.text).not.toMatch(/Too small|Invalid key in record|expected string/);
      expect(response.text).not.toContain("secret-value");
    }
  });

  it("publishes an OpenAPI 3.1 document and an API reference without a session", async () => {
    const doc = await t.request("GET", "/api/openapi.json", undefined, { token: null });
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe("3.1.0");
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        "/api/platforms",
        "/api/platforms/{id}",
        "/api/platforms/check",
        "/api/auth/login",
      ]),
    );
    const docs = await t.request("GET", "/api/docs", undefined, { token: null });
    expect(docs.status).toBe(200);
    const init = await t.request("GET", "/api/docs/init.js", undefined, { token: null });
    expect(init.text).toContain('"openapi.json"');
  });

  it("serves the API reference's script from the installed package, and nothing from elsewhere", async () => {
    const page = await t.request("GET", "/api/docs", undefined, { token: null });
    const sources = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]);
    expect(sources).toEqual(["docs/swagger-ui.css", "docs/swagger-ui-bundle.js", "docs/init.js"]);
    expect(page.headers.get("content-security-policy")).toMatch(/script-src 'self';/);
    const script = await t.request("GET", "/api/docs/swagger-ui-bundle.js", undefined, { token: null });
    expect(script.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(script.text).toBe(readFileSync("node_modules/swagger-ui-dist/swagger-ui-bundle.js", "utf8"));
    const unknown = await t.request("GET", "/api/docs/package.json", undefined, { token: null });
    expect(unknown.status).toBe(404);
  });

  it("forbids framing, sniffing and loading anything on every answer", async () => {
    for (const [url, token] of [
      ["/api/platforms", undefined],
      ["/api/platforms", null],
      ["/api/nothing-here", undefined],
    ] as const) {
      const response = await t.request("GET", url, undefined, { token });
      expect(response.headers.get("x-frame-options"), url).toBe("DENY");
      expect(response.headers.get("x-content-type-options"), url).toBe("nosniff");
      expect(response.headers.get("content-security-policy"), url).toBe(
        "default-src 'none'; frame-ancestors 'none'",
      );
    }
  });
});

describe("Lambda entry", () => {
  it("serves API Gateway REST proxy events", async () => {
    const handler = handle(t.api);
    // hono types its own event shape; the real API Gateway event satisfies it at run time.
    const lambda = (event: ReturnType<typeof restProxyEvent>, context: ReturnType<typeof lambdaContext>) =>
      handler(event as unknown as Parameters<typeof handler>[0], context);
    const login = await lambda(
      restProxyEvent({
        method: "POST",
        path: "/api/auth/login",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ password: ADMIN_PASSWORD }),
      }),
      lambdaContext(),
    );
    expect(login.statusCode).toBe(200);
    const { token } = JSON.parse(login.body);
    const list = await lambda(
      restProxyEvent({
        method: "GET",
        path: "/api/platforms",
        headers: { Authorization: `Bearer ${token}` },
        query: { limit: "5" },
      }),
      lambdaContext(),
    );
    expect(list.statusCode).toBe(200);
    expect(JSON.parse(list.body)).toEqual({ items: [], nextCursor: null });
    const missing = await lambda(
      restProxyEvent({ method: "GET", path: "/api/nope", headers: { Authorization: `Bearer ${token}` } }),
      lambdaContext(),
    );
    expect(missing.statusCode).toBe(404);
  });
});
