import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { decryptToken } from "../../functions/core/dify/encrypt-token";
import { logger } from "../../functions/core/log";
import { startLocal } from "../../functions/local/server";
import { type Browser, launchBrowser } from "../support/browser";
import { createDifyFixture, type DifyFixture, databaseSettings } from "../support/dify-fixture";
import { initializeRequest, type McpUpstream, startMcpUpstream } from "../support/mcp-upstream";
import { buildWeb } from "../support/web-build";

const PASSWORD = "journey-admin-password";
const ARTIFACTS = path.resolve("test/artifacts");

let dify: DifyFixture;
let upstream: McpUpstream;
let local: Awaited<ReturnType<typeof startLocal>>;
let browser: Browser;
let dataDir: string;
let webDir: string;

beforeAll(async () => {
  logger.setLogLevel("WARN");
  dataDir = mkdtempSync(path.join(tmpdir(), "spacegate-journey-"));
  webDir = mkdtempSync(path.join(tmpdir(), "spacegate-web-"));
  mkdirSync(ARTIFACTS, { recursive: true });
  [dify, upstream] = await Promise.all([
    createDifyFixture({ level: "1.15.0", spaces: 3 }),
    startMcpUpstream(),
    buildWeb(webDir),
  ]);
  local = await startLocal({ dataDir, port: 0, adminPassword: PASSWORD, inMemory: true, webDir });
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await local?.close();
  await dify?.close();
  await upstream?.close();
  for (const dir of [dataDir, webDir]) if (dir) rmSync(dir, { recursive: true, force: true });
});

let shots = 0;
const shot = (page: Page, name: string) =>
  page.screenshot({ path: path.join(ARTIFACTS, `${String(++shots).padStart(2, "0")}-${name}.png`) });

async function api<T = unknown>(method: string, route: string): Promise<T> {
  const login = await fetch(`${local.url}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ password: PASSWORD }),
  });
  const { token } = (await login.json()) as { token: string };
  const response = await fetch(`${local.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}` },
  });
  return (await response.json()) as T;
}

type ProviderRow = { id: string; name: string; encrypted_headers: string | null; tools: string };

const providerRows = (tenantId: string) =>
  dify.query<ProviderRow>(
    "SELECT id, name, encrypted_headers, tools FROM tool_mcp_providers WHERE tenant_id = $1",
    [tenantId],
  );

/** The credential Dify holds for the space: its row's Authorization header, opened with the space's key. */
async function credentialInDify(tenantId: string): Promise<string | null> {
  const [row] = await providerRows(tenantId);
  if (!row?.encrypted_headers) return null;
  const headers = JSON.parse(row.encrypted_headers) as { Authorization: string };
  return decryptToken(dify.privateKeyFor(tenantId), headers.Authorization).replace(/^Bearer /, "");
}

const gatewayUrl = (instanceId: string) => `${local.url}/gateway/${instanceId}/mcp`;

/** The status the gateway answers an MCP initialize carrying `credential` with. */
async function gatewayStatus(instanceId: string, credential: string): Promise<number> {
  const response = await fetch(gatewayUrl(instanceId), {
    method: "POST",
    headers: {
      authorization: `Bearer ${credential}`,
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    },
    body: initializeRequest("probe"),
  });
  await response.body?.cancel();
  return response.status;
}

/** Calls the upstream's `headers` tool through the gateway, as Dify would, and returns what the upstream saw. */
async function headersSeenUpstream(instanceId: string, credential: string): Promise<Record<string, string>> {
  const client = new Client({ name: "Dify", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(gatewayUrl(instanceId)), {
      requestInit: { headers: { Authorization: `Bearer ${credential}` } },
    }),
  );
  try {
    const result = await client.callTool({ name: "headers", arguments: {} });
    const content = result.content as Array<{ type: string; text: string }>;
    return JSON.parse(content[0]?.text ?? "{}") as Record<string, string>;
  } finally {
    await client.close();
  }
}

const grantCard = (page: Page, space: string): Locator =>
  page.locator("li.grant").filter({ has: page.getByRole("heading", { name: space, exact: true }) });

describe("the admin UI", () => {
  it("walks the journey: platform, instance, sync to two spaces, then rotate, disable and remove", async () => {
    const { page } = browser;
    onTestFailed(async () => {
      await page.screenshot({ path: path.join(ARTIFACTS, "failure.png") });
    });
    const [spaceA, spaceB] = dify.spaces;
    const settings = databaseSettings(dify.url);
    // The UI must work under its Content-Security-Policy: anything the policy blocks is a failure.
    const blocked: string[] = [];
    page.on("console", (message) => {
      if (/Content Security Policy/i.test(message.text())) blocked.push(message.text());
    });

    // Sign in.
    const sent = await page.goto(local.url);
    expect(sent?.headers()["content-security-policy"]).toContain("default-src 'self'");
    expect(sent?.headers()["x-frame-options"]).toBe("DENY");
    await expect(page.getByRole("heading", { name: "Sign in" }).isVisible()).resolves.toBe(true);
    await shot(page, "login");
    await page.getByLabel("Admin password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("No agent platforms yet").waitFor();
    await shot(page, "platforms-empty");

    // Add the platform with a wrong password: the check fails on save, in words, and nothing is saved.
    await page.getByRole("link", { name: "Add platform" }).click();
    await page.getByLabel("Name", { exact: true }).fill("Dify production");
    await page.getByLabel("Host", { exact: true }).fill(settings.host);
    await page.getByLabel("Port", { exact: true }).fill(String(settings.port));
    await page.getByLabel("Database name", { exact: true }).fill(settings.database);
    await page.getByLabel("User", { exact: true }).fill(settings.user);
    await page.getByLabel("Password", { exact: true }).fill("not-the-password");
    await page.getByLabel("SSL mode").selectOption("disable");
    await page.getByRole("button", { name: "Save platform" }).click();
    const failure = page.getByRole("alert").filter({ hasText: "The user name or password was rejected" });
    await failure.waitFor();
    await expect(failure.textContent()).resolves.toContain("auth_failed");
    await shot(page, "platform-check-failed");
    expect((await api<{ items: unknown[] }>("GET", "/api/platforms")).items).toHaveLength(0);

    // Then the right password: saved, checked, and its spaces previewed.
    await page.getByLabel("Password", { exact: true }).fill(settings.password);
    await page.getByRole("button", { name: "Save platform" }).click();
    await page.getByRole("heading", { name: "Spaces found" }).waitFor();
    await page.getByRole("cell", { name: "Space 002", exact: true }).waitFor();
    await page.getByText(/Its encryption key is kept outside the database/).waitFor();
    await page
      .getByRole("heading", { name: "Spaces found" })
      .evaluate((heading) => heading.closest("section")?.scrollIntoView({ block: "start" }));
    await shot(page, "platform-saved");
    const platforms = await api<{ items: Array<{ id: string; check: { ok: boolean } }> }>(
      "GET",
      "/api/platforms",
    );
    expect(platforms.items).toHaveLength(1);
    expect(platforms.items[0]!.check.ok).toBe(true);
    const platformId = platforms.items[0]!.id;

    // Add the instance with a default pass-through header; its tools are listed with their schemas.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Instances" }).click();
    await page.getByText("No instances yet").waitFor();
    await page.getByRole("link", { name: "Add instance" }).click();
    await page.getByLabel("Name", { exact: true }).fill("Echo tools");
    await page.getByLabel("MCP server URL").fill(upstream.mcpUrl);
    await page.getByRole("button", { name: "Add header" }).click();
    await page.getByLabel("Default headers: name of header 1").fill("X-Upstream-Key");
    await page.getByLabel("Default headers: value of X-Upstream-Key").fill("default-key");
    await page.getByRole("button", { name: "Save and list tools" }).click();
    const echo = page.locator("li.tool", { has: page.getByRole("heading", { name: "echo", exact: true }) });
    await echo.getByText("Returns its text argument.").waitFor();
    await echo.getByText("Input schema").click();
    await expect(echo.locator("pre").textContent()).resolves.toContain('"text"');
    await shot(page, "instance-tools");
    const instances = await api<{ items: Array<{ id: string; toolCount: number }> }>("GET", "/api/instances");
    expect(instances.items).toHaveLength(1);
    expect(instances.items[0]!.toolCount).toBe(4);
    const instanceId = instances.items[0]!.id;

    // Sync it to two spaces, the second with its own upstream key; spaces we cannot encrypt for are disabled.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Instances" }).click();
    await page.getByLabel("Select Echo tools").check();
    await shot(page, "instances");
    await page.getByRole("button", { name: "Sync to Dify (1)" }).click();
    await page.getByLabel(`Select ${spaceA!.name}`).check();
    await page.getByLabel(`Select ${spaceB!.name}`).check();
    await expect(page.getByLabel("Select Vault Key Space").isDisabled()).resolves.toBe(true);
    await expect(page.getByLabel("Select Archived Space").isDisabled()).resolves.toBe(true);
    await page.getByText(`${spaceB!.name} (0 set for this space)`).click();
    await page.getByLabel(`Headers for ${spaceB!.name}: value of X-Upstream-Key`).fill("key-for-b");
    await page
      .getByRole("heading", { name: "Spaces", exact: true })
      .evaluate((heading) => heading.closest("li")?.scrollIntoView({ block: "start" }));
    await shot(page, "sync-choose-spaces");
    await page.getByRole("button", { name: "Review and sync" }).click();
    await page
      .getByRole("dialog", { name: "Start the sync?" })
      .getByRole("button", { name: "Start sync" })
      .click();

    // The status page follows the job live until both spaces are synced.
    for (const space of [spaceA!, spaceB!])
      await page.locator(`tr[data-space="${space.name}"] [data-status="synced"]`).waitFor();
    await page.getByText("Done: all 2 synced.").waitFor();
    await shot(page, "sync-status");

    // Dify holds one provider row per space, each with its own credential; the gateway takes both and adds
    // each space's headers.
    const credentialA = (await credentialInDify(spaceA!.id))!;
    const credentialB = (await credentialInDify(spaceB!.id))!;
    expect(credentialA).toMatch(/^sg_/);
    expect(credentialB).toMatch(/^sg_/);
    expect(credentialA).not.toBe(credentialB);
    expect(JSON.parse((await providerRows(spaceA!.id))[0]!.tools).length).toBe(4);
    expect((await headersSeenUpstream(instanceId, credentialA))["x-upstream-key"]).toBe("default-key");
    const seenB = await headersSeenUpstream(instanceId, credentialB);
    expect(seenB["x-upstream-key"]).toBe("key-for-b");
    expect(seenB.authorization).toBeUndefined();

    // Access configuration: the revealed credential is the one in Dify.
    await page.getByRole("button", { name: "Open the access configuration" }).click();
    await page.getByRole("heading", { name: "MCP Access Configuration" }).waitFor();
    const cardA = grantCard(page, spaceA!.name);
    const cardB = grantCard(page, spaceB!.name);
    await expect(cardA.getByTestId("credential").textContent()).resolves.toMatch(/^sg_••••/);
    await cardA.getByRole("button", { name: `Reveal the credential of ${spaceA!.name}` }).click();
    await cardA.getByTestId("credential").getByText(credentialA).waitFor();
    await shot(page, "access");

    // Rotate A: the old credential is refused, Dify is given the new one, and it works.
    await cardA.getByRole("button", { name: `Rotate the credential of ${spaceA!.name}` }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Rotate credential" }).click();
    await page.getByText(`New credential issued for ${spaceA!.name}`).waitFor();
    await expect.poll(() => gatewayStatus(instanceId, credentialA), { timeout: 15_000 }).toBe(401);
    await expect.poll(() => credentialInDify(spaceA!.id), { timeout: 15_000 }).not.toBe(credentialA);
    const rotatedA = (await credentialInDify(spaceA!.id))!;
    await cardA.getByRole("button", { name: `Reveal the credential of ${spaceA!.name}` }).click();
    await cardA.getByTestId("credential").getByText(rotatedA).waitFor();
    expect((await headersSeenUpstream(instanceId, rotatedA))["x-upstream-key"]).toBe("default-key");
    expect(await providerRows(spaceA!.id)).toHaveLength(1);

    // Disable B: the gateway refuses its credential.
    await cardB.getByRole("switch", { name: `Access for ${spaceB!.name}` }).click();
    await page.getByText(`Access for ${spaceB!.name} disabled`).waitFor();
    await expect(
      cardB.getByRole("switch", { name: `Access for ${spaceB!.name}` }).getAttribute("aria-checked"),
    ).resolves.toBe("false");
    await expect.poll(() => gatewayStatus(instanceId, credentialB), { timeout: 15_000 }).toBe(403);
    await shot(page, "access-rotated-and-disabled");

    // Remove B from Dify: its row is gone, its credential unknown; A is untouched.
    await cardB.getByRole("button", { name: `Remove ${spaceB!.name}` }).click();
    const removeDialog = page.getByRole("dialog", { name: `Remove access for ${spaceB!.name}?` });
    await expect(
      removeDialog.getByLabel("Also delete the tool from this space in Dify").isChecked(),
    ).resolves.toBe(true);
    await removeDialog.getByRole("button", { name: "Remove access" }).click();
    await page.getByText(`Removed from ${spaceB!.name} and from its Dify.`).waitFor();
    await cardB.waitFor({ state: "detached" });
    expect(await providerRows(spaceB!.id)).toHaveLength(0);
    expect(await providerRows(spaceA!.id)).toHaveLength(1);
    await expect.poll(() => gatewayStatus(instanceId, credentialB), { timeout: 15_000 }).toBe(401);
    expect(await gatewayStatus(instanceId, rotatedA)).toBe(200);
    const grants = await api<{ items: Array<{ spaceId: string }> }>(
      "GET",
      `/api/instances/${instanceId}/access`,
    );
    expect(grants.items.map((grant) => grant.spaceId)).toEqual([spaceA!.id]);

    // The audit log shows what was done; the syncs list shows the sync and the rotation's re-sync.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit log" }).click();
    await page
      .getByRole("cell", { name: /Credential rotated/ })
      .first()
      .waitFor();
    await page
      .getByRole("cell", { name: /Access removed/ })
      .first()
      .waitFor();
    await shot(page, "audit");
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Syncs" }).click();
    // The audit page lists "Credential rotated" too: look in the sync jobs' table only.
    await page
      .getByRole("table", { name: "Sync jobs" })
      .getByText("Credential rotated", { exact: true })
      .first()
      .waitFor();
    await shot(page, "syncs");

    // A narrow window: nothing but tables scrolls sideways.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${local.url}/#/instances/${instanceId}/access`);
    await grantCard(page, spaceA!.name).waitFor();
    await shot(page, "narrow-access");
    const overflow = await page.evaluate<number>(
      "document.documentElement.scrollWidth - document.documentElement.clientWidth",
    );
    expect(overflow).toBeLessThanOrEqual(0);
    expect(platformId).toMatch(/^plt_/);

    // Signing out signs the session out on the server too: its token is refused from then on.
    const token = await page.evaluate<string>(
      'JSON.parse(sessionStorage.getItem("spacegate.session")).token',
    );
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    const refused = await fetch(`${local.url}/api/platforms`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(refused.status).toBe(401);

    // The API reference renders from the files the API serves, under its own policy.
    await page.goto(`${local.url}/api/docs`);
    await page.getByText("/api/platforms/check").first().waitFor();
    await shot(page, "api-docs");
    expect(blocked).toEqual([]);
  }, 150_000);
});
