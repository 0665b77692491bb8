import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type McpUpstream,
  type StatusServer,
  startMcpUpstream,
  startStatusServer,
} from "../../dev/mcp-upstream";
import { Latency } from "../../functions/core/latency";
import { logger } from "../../functions/core/log";
import { startLocal } from "../../functions/local/server";
import { type Browser, launchBrowser } from "../support/browser";
import { captureOutput } from "../support/capture-output";
import { createDifyFixture, type DifyFixture, databaseSettings } from "../support/dify-fixture";
import { buildWeb } from "../support/web-build";

const PASSWORD = "usage run password";
const ARTIFACTS = path.resolve("test/artifacts");
let dataDir: string;
let webDir: string;
let browser: Browser;
let dify: DifyFixture;
let upstream: McpUpstream;
let failing: StatusServer;
let local: Awaited<ReturnType<typeof startLocal>>;
let token: string;
let output: ReturnType<typeof captureOutput>;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), "spacegate-usage-"));
  webDir = mkdtempSync(path.join(tmpdir(), "spacegate-usage-web-"));
  mkdirSync(ARTIFACTS, { recursive: true });
  [dify, upstream, failing] = await Promise.all([
    createDifyFixture({ level: "1.15.0", spaces: 2 }),
    startMcpUpstream(),
    startStatusServer(500, JSON.stringify({ error: "the MCP server broke" })),
    buildWeb(webDir),
  ]);
  // Completed calls are logged at debug: the run reads each call's duration from its own line.
  logger.setLogLevel("DEBUG");
  output = captureOutput();
  local = await startLocal({ dataDir, port: 0, inMemory: true, adminPassword: PASSWORD, webDir });
  token = (await api("POST", "/api/auth/login", { password: PASSWORD })).token as string;
  browser = await launchBrowser();
}, 180_000);
afterAll(async () => {
  output?.stop();
  await browser?.close();
  logger.setLogLevel("INFO");
  await local?.close();
  await dify?.close();
  await upstream?.close();
  await failing?.close();
  for (const dir of [dataDir, webDir]) if (dir) rmSync(dir, { recursive: true, force: true });
});

// biome-ignore lint/suspicious/noExplicitAny: tests read response bodies freely.
async function api(method: string, url: string, body?: unknown): Promise<any> {
  const response = await fetch(`${local.url}${url}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json().catch(() => null);
  if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

/** One MCP session of a space: initialize, then tools/call, each one gateway call. */
async function session(instanceId: string, credential: string) {
  const endpoint = `${local.url}/gateway/${instanceId}/mcp`;
  let sessionId: string | null = null;
  let id = 0;
  const post = async (body: Record<string, unknown>) => {
    const response = await fetch(endpoint, {
      method: "POST",
      headers: {
        authorization: `Bearer ${credential}`,
        accept: "application/json, text/event-stream",
        "content-type": "application/json",
        ...(sessionId ? { "mcp-session-id": sessionId } : {}),
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: ++id, ...body }),
    });
    await response.text();
    sessionId ??= response.headers.get("mcp-session-id");
    return response.status;
  };
  return {
    initialize: () =>
      post({
        method: "initialize",
        params: {
          protocolVersion: "2025-06-18",
          capabilities: {},
          clientInfo: { name: "Dify", version: "1" },
        },
      }),
    call: (name: string, args: Record<string, unknown> = {}) =>
      post({ method: "tools/call", params: { name, arguments: args } }),
  };
}

/** The duration of every call the upstream answered, as the gateway logged it, per instance. */
function loggedDurations(instanceId: string) {
  return output
    .text()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.message === "gateway request" && line.instanceId === instanceId && !line.code)
    .map((line) => line.durationMs as number);
}

describe("usage of a scripted run through the local product", () => {
  it("answers the counts, busiest tools and spaces, and the percentiles the run measured", async () => {
    const platformId = (
      await api("POST", "/api/platforms", {
        name: "Dify",
        kind: "dify-community",
        database: databaseSettings(dify.url),
      })
    ).id as string;
    const echo = (
      await api("POST", "/api/instances", {
        name: "Echo",
        upstream: { url: upstream.mcpUrl, transport: "streamable-http" },
      })
    ).id as string;
    const broken = (
      await api("POST", "/api/instances", {
        name: "Broken",
        upstream: { url: `${failing.url}/mcp`, transport: "streamable-http" },
      })
    ).id as string;
    const [a, b] = dify.spaces.map((space) => space.id) as [string, string];
    const credential = async (instanceId: string, spaceId: string, enabled = true) => {
      const grantUrl = `/api/instances/${instanceId}/access/${platformId}/${spaceId}`;
      await api("PUT", grantUrl, { enabled });
      return (await api("POST", `${grantUrl}/reveal`)).credential as string;
    };

    const statuses: number[] = [];
    const echoA = await session(echo, await credential(echo, a));
    statuses.push(await echoA.initialize());
    for (let i = 0; i < 5; i++) statuses.push(await echoA.call("echo", { text: `hello ${i}` }));
    for (let i = 0; i < 3; i++) statuses.push(await echoA.call("add", { a: i, b: 1 }));
    const echoB = await session(echo, await credential(echo, b));
    statuses.push(await echoB.initialize());
    for (let i = 0; i < 2; i++) statuses.push(await echoB.call("headers"));
    statuses.push(await echoB.call("echo", { text: "from b" }));
    const brokenA = await session(broken, await credential(broken, a));
    for (let i = 0; i < 4; i++) statuses.push(await brokenA.call("echo", { text: "lost" }));
    const brokenB = await session(broken, await credential(broken, b, false));
    for (let i = 0; i < 2; i++) statuses.push(await brokenB.call("echo", { text: "refused" }));
    await local.usage.flushNow();

    expect(statuses).toEqual([...Array(13).fill(200), 500, 500, 500, 500, 403, 403]);
    const window = `from=${new Date(Date.now() - 3_600_000).toISOString()}&to=${new Date(Date.now() + 60_000).toISOString()}`;
    const echoUsage = await api("GET", `/api/instances/${echo}/usage?${window}`);
    const echoDurations = loggedDurations(echo);
    expect(echoDurations).toHaveLength(13);
    expect(echoUsage.totals).toEqual({
      calls: 13,
      ok: 13,
      errors: 0,
      upstreamError: 0,
      refused: 0,
      limited: 0,
      timeout: 0,
      p50: Latency.quantile(Latency.of(echoDurations), 0.5),
      p95: Latency.quantile(Latency.of(echoDurations), 0.95),
    });
    const sorted = [...echoDurations].sort((x, y) => x - y);
    const exactP95 = sorted[Math.ceil(0.95 * sorted.length) - 1] ?? 0;
    const [low, high] = Latency.bounds(Latency.bucketOf(exactP95));
    expect(echoUsage.totals.p95).toBeGreaterThanOrEqual(low);
    expect(echoUsage.totals.p95).toBeLessThan(high);
    expect(echoUsage.series.reduce((sum: number, point: { calls: number }) => sum + point.calls, 0)).toBe(13);
    expect(echoUsage.tools).toEqual([
      { tool: "echo", calls: 6, errors: 0 },
      { tool: "add", calls: 3, errors: 0 },
      { tool: "headers", calls: 2, errors: 0 },
    ]);
    expect(echoUsage.spaces).toEqual([
      { platformId, spaceId: a, calls: 9, errors: 0 },
      { platformId, spaceId: b, calls: 4, errors: 0 },
    ]);

    const spaceUsage = await api(
      "GET",
      `/api/instances/${echo}/access/${platformId}/${b}/usage?${window}&granularity=day`,
    );
    expect(spaceUsage.totals).toMatchObject({ calls: 4, ok: 4, errors: 0 });
    expect(spaceUsage.tools).toEqual([
      { tool: "headers", calls: 2, errors: 0 },
      { tool: "echo", calls: 1, errors: 0 },
    ]);

    const brokenUsage = await api("GET", `/api/instances/${broken}/usage?${window}`);
    expect(brokenUsage.totals).toEqual({
      calls: 6,
      ok: 0,
      errors: 6,
      upstreamError: 4,
      refused: 2,
      limited: 0,
      timeout: 0,
      p50: Latency.quantile(Latency.of(loggedDurations(broken)), 0.5),
      p95: Latency.quantile(Latency.of(loggedDurations(broken)), 0.95),
    });
    // A refused call is turned away before its body is read: it counts per space and hour, not per tool.
    expect(brokenUsage.tools).toEqual([{ tool: "echo", calls: 4, errors: 4 }]);
    expect(brokenUsage.spaces).toEqual([
      { platformId, spaceId: a, calls: 4, errors: 4 },
      { platformId, spaceId: b, calls: 2, errors: 2 },
    ]);
    // The instance page shows the same numbers, at full width and at 390 px.
    const { page } = browser;
    await page.goto(local.url);
    await page.getByLabel("Admin password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("button", { name: "Sign in" }).waitFor({ state: "detached" });
    await page.goto(`${local.url}/#/instances/${echo}/usage`);
    await page.getByTestId("usage-calls").waitFor();
    const shown = async (id: string) => (await page.getByTestId(id).textContent())?.trim();
    expect(await shown("usage-calls")).toBe("13");
    expect(await shown("usage-errors")).toBe("0");
    const ms = (value: number) => (value < 10 ? `${value.toFixed(1)} ms` : `${Math.round(value)} ms`);
    expect(await shown("usage-p50")).toBe(ms(echoUsage.totals.p50));
    expect(await shown("usage-p95")).toBe(ms(echoUsage.totals.p95));
    expect(await page.getByTestId("usage-tools").locator("li").allTextContents()).toEqual([
      expect.stringMatching(/^echo\s*6$/),
      expect.stringMatching(/^add\s*3$/),
      expect.stringMatching(/^headers\s*2$/),
    ]);
    const [nameA, nameB] = dify.spaces.map((space) => space.name) as [string, string];
    await page.getByTestId("usage-spaces").getByText(nameA).waitFor();
    expect(await page.getByTestId("usage-spaces").locator("li").allTextContents()).toEqual([
      expect.stringMatching(new RegExp(`^${nameA}\\s*9$`)),
      expect.stringMatching(new RegExp(`^${nameB}\\s*4$`)),
    ]);
    await page.screenshot({ path: path.join(ARTIFACTS, "usage-instance.png"), fullPage: true });
    await page.getByText("7 days").click();
    await page.getByTestId("usage-calls").waitFor();
    expect(await shown("usage-calls")).toBe("13");
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: path.join(ARTIFACTS, "usage-instance-narrow.png"), fullPage: true });
    const overflow = await page.evaluate<number>(
      "document.documentElement.scrollWidth - document.documentElement.clientWidth",
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await page.goto(`${local.url}/#/instances/${broken}/access`);
    await page.getByTestId("sparkline").first().waitFor();
    expect(await page.getByTestId("sparkline").first().getAttribute("aria-label")).toMatch(
      /calls, \d+ errors/,
    );
    await page.screenshot({ path: path.join(ARTIFACTS, "usage-access-sparklines.png"), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 800 });

    const access = await api("GET", `/api/instances/${broken}/access`);
    expect(
      access.items.map((grant: { calls: number; errors: number }) => [grant.calls, grant.errors]).sort(),
    ).toEqual([
      [0, 2],
      [4, 4],
    ]);
  });

  it("refuses a window that is backwards or longer than the 90 days kept, saying so", async () => {
    const instanceId = (await api("GET", "/api/instances")).items[0]?.id ?? "ins_none";
    const response = await fetch(
      `${local.url}/api/instances/${instanceId}/usage?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z`,
      { headers: { authorization: `Bearer ${token}` } },
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: "invalid_range" });
    const long = await fetch(
      `${local.url}/api/instances/${instanceId}/usage?from=2025-01-01T00:00:00Z&to=2026-01-01T00:00:00Z`,
      { headers: { authorization: `Bearer ${token}` } },
    );
    expect(await long.json()).toMatchObject({
      code: "invalid_range",
      message: expect.stringContaining("90 days"),
    });
  });
});
