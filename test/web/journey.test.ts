import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { freePort } from "../../dev/embedded-postgres";
import { initializeRequest, type McpUpstream, startMcpUpstream } from "../../dev/mcp-upstream";
import { decryptToken } from "../../functions/core/dify/encrypt-token";
import { logger } from "../../functions/core/log";
import { startLocal } from "../../functions/local/server";
import { type Browser, launchBrowser } from "../support/browser";
import { createDifyFixture, type DifyFixture, databaseSettings } from "../support/dify-fixture";
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

/** How far the page scrolls sideways: 0 when everything fits the window's width. */
const sideways = (page: Page) =>
  page.evaluate<number>("document.documentElement.scrollWidth - document.documentElement.clientWidth");

/** The API requests the page sends, as "METHOD /path", from now on. */
function apiRequests(page: Page) {
  const sent: string[] = [];
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (url.pathname.startsWith("/api/")) sent.push(`${request.method()} ${url.pathname}`);
  });
  return sent;
}

/** The toast is drawn over the top bar only, clear of every field on the page. */
async function expectToastClearOfFields(page: Page) {
  const toast = page.getByRole("status").filter({ has: page.locator(".toast-close") });
  const box = (await page.locator(".toast").boundingBox())!;
  const bar = (await page.locator(".topbar").boundingBox())!;
  expect(box.y).toBeGreaterThanOrEqual(bar.y);
  expect(box.y + box.height).toBeLessThanOrEqual(bar.y + bar.height);
  expect(box.x + box.width).toBeLessThanOrEqual(bar.x + bar.width);
  const fields = await page.locator("input, select, textarea").evaluateAll((elements) =>
    elements.map((element) => {
      const rect = element.getBoundingClientRect();
      return { x: rect.x, y: rect.y, width: rect.width, height: rect.height };
    }),
  );
  for (const field of fields.filter((f) => f.width > 0 && f.height > 0)) {
    const overlaps =
      field.x < box.x + box.width &&
      box.x < field.x + field.width &&
      field.y < box.y + box.height &&
      box.y < field.y + field.height;
    expect(overlaps).toBe(false);
  }
  return toast;
}

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

    // An empty form is checked in the browser with the API's schemas: each field says what it needs,
    // in words, and nothing is sent.
    const sentRequests = apiRequests(page);
    await page.getByRole("link", { name: "Add platform" }).click();
    await page.getByLabel("Database name", { exact: true }).fill("");
    await page.getByRole("button", { name: "Save platform" }).click();
    await page.getByText("Nothing was sent: correct the fields marked above.").waitFor();
    const hostField = page.getByLabel("Host", { exact: true });
    await expect(hostField.getAttribute("aria-invalid")).resolves.toBe("true");
    await page.getByText("Enter the database server's host name or IP address").waitFor();
    await page.getByText("Enter a name", { exact: true }).waitFor();
    await page.getByText("Enter the database name (Dify's default is dify)").waitFor();
    await page.getByText("Enter the database password", { exact: true }).waitFor();
    await page.getByRole("button", { name: "Test connection" }).click();
    await page.getByText("Enter the database user", { exact: true }).waitFor();
    await expect(page.locator(".toast").count()).resolves.toBe(0);
    await expect(page.locator("body").textContent()).resolves.not.toMatch(/Too small|expected string/);
    await shot(page, "platform-invalid");
    expect(sentRequests.filter((request) => request.includes("/api/platforms"))).toEqual([]);

    // Add the platform with a wrong password: the check fails on save, in words, and nothing is saved.
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

    // Then the right password: saved, checked, its spaces previewed, and the next step offered.
    await page.getByLabel("Password", { exact: true }).fill(settings.password);
    await page.getByRole("button", { name: "Save platform" }).click();
    await page.getByRole("heading", { name: "Next: publish an MCP server into its spaces" }).waitFor();
    const addedToast = await expectToastClearOfFields(page);
    await expect(addedToast.textContent()).resolves.toContain(
      "Platform Dify production added: 6 spaces found.",
    );
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

    // The next step adds the instance; leaving the page clears the toast. A header name with spaces is
    // caught on its row, in words, before anything is sent.
    await page.getByRole("link", { name: "Add an MCP server" }).click();
    await page.getByRole("heading", { name: "Add an instance" }).waitFor();
    await expect(page.locator(".toast").count()).resolves.toBe(0);
    await page.getByLabel("Name", { exact: true }).fill("Echo tools");
    await page.getByLabel("MCP server URL").fill(upstream.mcpUrl);
    await page.getByRole("button", { name: "Add header" }).click();
    await page.getByLabel("Default headers: name of header 1").fill("X Api Key");
    await page.getByLabel("Default headers: value of X Api Key").fill("default-key");
    await page.getByRole("button", { name: "Save and list tools" }).click();
    await page.getByText("X Api Key: A header name has letters, digits and - only, no spaces").waitFor();
    await expect(
      page.getByLabel("Default headers: name of header 1").getAttribute("aria-invalid"),
    ).resolves.toBe("true");
    await shot(page, "instance-invalid");
    expect(sentRequests.filter((request) => request === "POST /api/instances")).toEqual([]);
    await page.getByLabel("Default headers: name of header 1").fill("X-Upstream-Key");
    await page.getByRole("button", { name: "Save and list tools" }).click();

    // Its tools are listed as Dify lists them: a description, then each parameter as "name (type)".
    const echo = page.locator("li.tool", { has: page.getByRole("heading", { name: "echo", exact: true }) });
    await echo.getByText("Returns its text argument.").waitFor();
    await echo.getByText("Parameters (1)").click();
    await expect(echo.locator(".tool-parameters li").textContent()).resolves.toBe("text (string, required)");
    await page.getByRole("heading", { name: "Next: sync Echo tools to Dify" }).waitFor();
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
    const spaceBHeaders = page.getByRole("group", { name: `Headers for ${spaceB!.name}` });
    await spaceBHeaders.getByRole("button", { name: "Add header" }).click();
    await page.getByLabel(`Headers for ${spaceB!.name}: name of header 2`).fill("Bad Header");
    await page.getByLabel(`Headers for ${spaceB!.name}: value of Bad Header`).fill("x");
    await page.getByRole("button", { name: "Review and sync" }).click();
    await page
      .getByRole("alert")
      .getByText(
        `${spaceB!.name}: header Bad Header: A header name has letters, digits and - only, no spaces`,
      )
      .waitFor();
    await spaceBHeaders.getByText("Bad Header: A header name has letters").waitFor();
    await shot(page, "sync-invalid-header");
    expect(sentRequests.filter((request) => request === "POST /api/syncs")).toEqual([]);
    await spaceBHeaders.getByRole("button", { name: "Remove header Bad Header" }).click();
    await page
      .getByRole("heading", { name: "Spaces", exact: true })
      .evaluate((heading) => heading.closest("li")?.scrollIntoView({ block: "start" }));
    await shot(page, "sync-choose-spaces");
    await page.getByRole("button", { name: "Review and sync" }).click();
    const review = page.getByRole("dialog", { name: "Start the sync?" });
    const reviewed = (space: string) => review.locator("li", { hasText: space }).first();
    await expect(reviewed(spaceA!.name).textContent()).resolves.toContain(
      "X-Upstream-Key: •••• (instance default)",
    );
    await expect(reviewed(spaceB!.name).textContent()).resolves.toContain(
      "X-Upstream-Key: •••• (for this space)",
    );
    await expect(review.textContent()).resolves.not.toContain("key-for-b");
    await shot(page, "sync-review");
    await review.getByRole("button", { name: "Start sync" }).click();

    // The status page follows the job live until both spaces are synced.
    for (const space of [spaceA!, spaceB!])
      await page.locator(`tr[data-space="${space.name}"] [data-status="synced"]`).waitFor();
    await page.getByText("Done: all 2 synced.").waitFor();
    const inDify = page.getByRole("region", { name: "Where to find it in Dify" });
    await expect(inDify.textContent()).resolves.toContain("Tools → MCP");
    await expect(inDify.textContent()).resolves.toContain(`${spaceA!.name}, ${spaceB!.name}`);
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
    await expect(cardA.getByTestId("gateway-url").textContent()).resolves.toBe(gatewayUrl(instanceId));
    await expect(cardA.getByTestId("identifier").textContent()).resolves.toBe("echo-tools");
    expect((await providerRows(spaceA!.id))[0]!.name).toBe("Echo tools");
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
    // A disabled card says so instead of "Synced".
    await expect(cardB.getAttribute("data-enabled")).resolves.toBe("false");
    await cardB.getByText("Access disabled").waitFor();
    await expect(cardB.locator('[data-status="synced"]').count()).resolves.toBe(0);
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
    // Targets and details are named, never shown by id.
    const auditTable = page.getByRole("table", { name: "Audit events" });
    await auditTable
      .getByRole("link", { name: `Echo tools in ${spaceB!.name} of Dify production` })
      .first()
      .waitFor();
    await auditTable.getByText("Sync to Dify production").first().waitFor();
    await expect(auditTable.textContent()).resolves.not.toMatch(/plt_|ins_|job_|[0-9a-f]{8}-[0-9a-f]{4}/);
    await shot(page, "audit");
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Syncs" }).click();
    // The audit page lists "Credential rotated" too: look in the sync jobs' table only.
    await page
      .getByRole("table", { name: "Sync jobs" })
      .getByText("Credential rotated", { exact: true })
      .first()
      .waitFor();
    await shot(page, "syncs");

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

  it("warns before syncing an instance whose tools could not be listed, and its sync fails at once saying why", async () => {
    const { page } = browser;
    await signIn(page);
    await page.goto(`${local.url}/#/instances/new`);
    await page.getByLabel("Name", { exact: true }).fill("Offline tools");
    await page.getByLabel("MCP server URL").fill(`http://localhost:${await freePort()}/mcp`);
    await page.getByRole("button", { name: "Save and list tools" }).click();
    await page.getByText("Not ready to sync").waitFor();
    await page.getByText("The last discovery failed").waitFor();
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Instances" }).click();
    const row = page.getByRole("row").filter({ hasText: "Offline tools" });
    await row.getByText("Tools not listed").waitFor();
    await page.getByLabel("Select Offline tools").check();
    await page.getByRole("button", { name: "Sync to Dify (1)" }).click();
    await page
      .locator(".choice-warning", { hasText: "Offline tools" })
      .getByText(/could not be listed/)
      .waitFor();
    const spaceC = dify.spaces[2]!;
    await page.getByLabel(`Select ${spaceC.name}`).check();
    await page.getByRole("button", { name: "Review and sync" }).click();
    const review = page.getByRole("dialog", { name: "Start the sync?" });
    await review.getByText("This instance is not ready: their sync will fail").waitFor();
    await shot(page, "sync-review-warning");
    await review.getByRole("button", { name: "Start sync anyway" }).click();
    const item = page.locator(`tr[data-space="${spaceC.name}"]`);
    await item.locator('[data-status="failed"]').waitFor();
    await item
      .getByText("The instance's tools could not be listed, so there was nothing to give Dify.")
      .waitFor();
    await expect(item.getByText("discovery_failed").count()).resolves.toBeGreaterThan(0);
    await expect(item.locator('td[data-label="Attempts"]').textContent()).resolves.toBe("1");
    await shot(page, "sync-failed-discovery");
  }, 60_000);

  it("draws an instance's icon where no font has its emoji", async () => {
    // Chromium started with every font the system has, less any emoji font.
    const fonts = mkdtempSync(path.join(tmpdir(), "spacegate-fonts-"));
    writeFileSync(
      path.join(fonts, "fonts.conf"),
      `<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>
<include ignore_missing="yes">/etc/fonts/fonts.conf</include>
<selectfont><rejectfont><glob>*Emoji*</glob><glob>*emoji*</glob></rejectfont></selectfont>
</fontconfig>`,
    );
    const plain = await launchBrowser({ env: { FONTCONFIG_FILE: path.join(fonts, "fonts.conf") } });
    try {
      await signIn(plain.page);
      await plain.page.goto(`${local.url}/#/instances`);
      const icon = plain.page.getByRole("row").filter({ hasText: "Echo tools" }).locator(".instance-icon");
      await expect(icon.getAttribute("data-icon")).resolves.toBe("svg");
      await expect(icon.locator("svg").isVisible()).resolves.toBe(true);
      await plain.page.screenshot({ path: path.join(ARTIFACTS, "icon-without-emoji-font.png") });
    } finally {
      await plain.close();
      rmSync(fonts, { recursive: true, force: true });
    }
  }, 60_000);

  it("shows every screen at 390 and 1280 pixels wide without sideways scrolling", async () => {
    const { page } = browser;
    await page.setViewportSize({ width: 1280, height: 800 });
    await signIn(page);
    const instances = await api<{ items: Array<{ id: string; name: string }> }>("GET", "/api/instances");
    const echo = instances.items.find((instance) => instance.name === "Echo tools")!;
    const platforms = await api<{ items: Array<{ id: string }> }>("GET", "/api/platforms");
    const jobs = await api<{ items: Array<{ id: string }> }>("GET", "/api/syncs");
    const screens: Array<[string, string, string]> = [
      ["platforms", "/platforms", "Agent Platforms"],
      ["platform-new", "/platforms/new", "Add an agent platform"],
      ["platform", `/platforms/${platforms.items[0]!.id}`, "Dify production"],
      ["instances", "/instances", "Instances"],
      ["instance-new", "/instances/new", "Add an instance"],
      ["instance-tools", `/instances/${echo.id}/tools`, "Echo tools"],
      ["instance-access", `/instances/${echo.id}/access`, "Echo tools"],
      ["instance-settings", `/instances/${echo.id}/settings`, "Echo tools"],
      ["sync-wizard", `/sync/new?instances=${echo.id}`, "Sync to Dify"],
      ["syncs", "/syncs", "Syncs"],
      ["sync", `/syncs/${jobs.items.at(-1)!.id}`, "Sync to Dify production"],
      ["audit", "/audit", "Audit log"],
    ];
    for (const width of [390, 1280]) {
      await page.setViewportSize({ width, height: width === 390 ? 844 : 800 });
      for (const [name, route, heading] of screens) {
        await page.goto(`${local.url}/#${route}`);
        await page.getByRole("heading", { level: 1, name: heading }).waitFor();
        await page.locator(".state-loading").first().waitFor({ state: "detached" });
        if (name === "sync-wizard") {
          await page.getByLabel(`Select ${dify.spaces[0]!.name}`).check();
          await page.getByRole("button", { name: "Review and sync" }).click();
          await page.getByRole("dialog", { name: "Start the sync?" }).waitFor();
          expect(await sideways(page), `${name} review at ${width}`).toBeLessThanOrEqual(0);
          await shot(page, `${width}-sync-review`);
          await page.getByRole("dialog").getByRole("button", { name: "Back" }).click();
        }
        expect(await sideways(page), `${name} at ${width}`).toBeLessThanOrEqual(0);
        await page.screenshot({ path: path.join(ARTIFACTS, `${width}-${name}.png`), fullPage: true });
      }

      // Errors land on the fields, not in toasts; an outcome's toast covers no field.
      await page.goto(`${local.url}/#/platforms/new`);
      await page.getByRole("button", { name: "Save platform" }).click();
      await page.getByText("Enter a name", { exact: true }).waitFor();
      await expect(page.locator(".toast").count()).resolves.toBe(0);
      expect(await sideways(page)).toBeLessThanOrEqual(0);
      await page.screenshot({ path: path.join(ARTIFACTS, `${width}-platform-invalid.png`), fullPage: true });
      await page.goto(`${local.url}/#/platforms`);
      await page.getByRole("button", { name: "Check Dify production again" }).click();
      const toast = await expectToastClearOfFields(page);
      await expect(toast.textContent()).resolves.toContain("Dify production: the check passed.");
      await page.screenshot({ path: path.join(ARTIFACTS, `${width}-toast.png`) });
    }

    // Signed out, the sign-in page fits too.
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    for (const width of [390, 1280]) {
      await page.setViewportSize({ width, height: 800 });
      expect(await sideways(page), `sign-in at ${width}`).toBeLessThanOrEqual(0);
      await page.screenshot({ path: path.join(ARTIFACTS, `${width}-login.png`) });
    }
  }, 120_000);
});

/** Signs in, unless this tab is still signed in from an earlier test. */
async function signIn(page: Page) {
  await page.goto(local.url);
  const main = page.getByRole("navigation", { name: "Main" });
  await main.or(page.getByLabel("Admin password")).waitFor();
  if (await main.isVisible()) return;
  await page.getByLabel("Admin password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Main" }).waitFor();
}
