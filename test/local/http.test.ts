import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocal } from "../../functions/local/server";

const PASSWORD = "local http surface password";
let dataDir: string;
let local: Awaited<ReturnType<typeof startLocal>>;
let token: string;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), "spacegate-http-"));
  const webDir = path.join(dataDir, "web");
  mkdirSync(path.join(webDir, "assets"), { recursive: true });
  writeFileSync(path.join(webDir, "index.html"), "<!doctype html><title>Spacegate UI</title>");
  writeFileSync(path.join(webDir, "assets", "app.js"), "console.log('ui')");
  local = await startLocal({ dataDir, port: 0, inMemory: true, webDir, adminPassword: PASSWORD });
  const login = await fetch(`${local.url}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ password: PASSWORD }),
  });
  token = ((await login.json()) as { token: string }).token;
});
afterAll(async () => {
  await local.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("the local product's HTTP surface", () => {
  it("answers an unknown /api route 404 not_found as JSON, never the UI", async () => {
    for (const method of ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]) {
      for (const url of ["/api/nothing-here", "/api/assets/app.js", "/api/index.html"]) {
        const response = await fetch(`${local.url}${url}`, {
          method,
          headers: { authorization: `Bearer ${token}` },
        });
        expect(response.status, `${method} ${url}`).toBe(404);
        expect(response.headers.get("content-type"), `${method} ${url}`).toMatch(/application\/json/);
        if (method !== "HEAD") expect(await response.json()).toMatchObject({ code: "not_found" });
      }
    }
  });

  it("serves the UI and its assets outside /api, with index.html for the UI's own routes", async () => {
    const page = await fetch(`${local.url}/platforms/plt_x`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Spacegate UI");
    const asset = await fetch(`${local.url}/assets/app.js`);
    expect(await asset.text()).toContain("console.log");
  });

  it("sends the UI with its Content-Security-Policy, and forbids framing and sniffing", async () => {
    for (const url of ["/", "/platforms/plt_x", "/assets/app.js"]) {
      const response = await fetch(`${local.url}${url}`);
      const policy = response.headers.get("content-security-policy") ?? "";
      expect(policy, url).toContain("default-src 'self'; script-src 'self';");
      expect(policy, url).toContain("frame-ancestors 'none'");
      expect(response.headers.get("x-frame-options"), url).toBe("DENY");
      expect(response.headers.get("x-content-type-options"), url).toBe("nosniff");
    }
  });
});
