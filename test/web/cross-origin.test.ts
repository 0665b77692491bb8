import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { APIGatewayProxyResult } from "aws-lambda";
import { handle } from "hono/aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type McpUpstream, startMcpUpstream } from "../../dev/mcp-upstream";
import { createApi } from "../../functions/api/app";
import { logger } from "../../functions/core/log";
import { startLocal } from "../../functions/local/server";
import { type Browser, launchBrowser } from "../support/browser";
import { createDifyFixture, type DifyFixture, databaseSettings } from "../support/dify-fixture";
import { lambdaContext, restProxyEvent } from "../support/lambda-events";
import { buildWeb } from "../support/web-build";

// The hosted UI as AWS serves it: the built static site from one origin (CloudFront), the API's
// Lambda handler from another (API Gateway, REST proxy events, the stage in the path), every
// preflight reaching the handler.

const PASSWORD = "cross-origin-admin-password";
const STAGE = "prod";

const listen = (server: Server) =>
  new Promise<number>((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
  );

const readBody = async (req: IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

/** The static site: files as they are, index.html for the root, as CloudFront serves the bucket. */
function staticSite(dir: string) {
  const types: Record<string, string> = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
  };
  return createServer((req, res) => {
    const pathname = new URL(req.url ?? "/", "http://site").pathname;
    const file = path.join(dir, pathname === "/" ? "index.html" : pathname);
    if (!file.startsWith(dir) || !existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": types[path.extname(file)] ?? "application/octet-stream" });
    res.end(readFileSync(file));
  });
}

type Preflight = { origin?: string; status: number; headers: Record<string, string> };

/** API Gateway in front of a REST-proxy Lambda handler: HTTP in, a proxy event to the handler, its answer out. */
function restApi(handler: ReturnType<typeof handle>, preflights: Preflight[]) {
  return createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://api");
    if (!url.pathname.startsWith(`/${STAGE}/`)) return void res.writeHead(403).end('{"message":"Forbidden"}');
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([name, value]) => [
        name,
        Array.isArray(value) ? value.join(", ") : (value ?? ""),
      ]),
    );
    const body = await readBody(req);
    const result = (await handler(
      restProxyEvent({
        method: req.method ?? "GET",
        path: url.pathname.slice(STAGE.length + 1),
        headers,
        query: Object.fromEntries(url.searchParams),
        body: body.length > 0 ? body.toString("utf8") : null,
      }) as unknown as Parameters<typeof handler>[0],
      lambdaContext(),
    )) as APIGatewayProxyResult;
    const answered = Object.fromEntries(
      Object.entries(result.multiValueHeaders ?? {}).map(([name, values]) => [name, values.join(", ")]),
    );
    if (req.method === "OPTIONS")
      preflights.push({ origin: headers.origin, status: result.statusCode, headers: answered });
    res.writeHead(result.statusCode, answered);
    res.end(result.isBase64Encoded ? Buffer.from(result.body, "base64") : result.body);
  });
}

let dify: DifyFixture;
let upstream: McpUpstream;
let local: Awaited<ReturnType<typeof startLocal>>;
let browser: Browser;
let site: Server;
let api: Server;
let siteOrigin: string;
let apiUrl: string;
const preflights: Preflight[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  logger.setLogLevel("WARN");
  const dataDir = mkdtempSync(path.join(tmpdir(), "spacegate-cross-origin-"));
  const webDir = mkdtempSync(path.join(tmpdir(), "spacegate-cross-origin-web-"));
  dirs.push(dataDir, webDir);
  site = staticSite(webDir);
  // Two origins: the site on localhost, the API on 127.0.0.1.
  siteOrigin = `http://localhost:${await listen(site)}`;
  // The local product provides the engines (DynamoDB, secrets, the queue and its worker); the API is
  // the Lambda's own shape: the app behind hono/aws-lambda, given the site's origin.
  local = await startLocal({ dataDir, port: 0, adminPassword: PASSWORD, inMemory: true, webDir: dataDir });
  api = restApi(handle(createApi({ corsOrigin: siteOrigin })), preflights);
  apiUrl = `http://127.0.0.1:${await listen(api)}/${STAGE}`;
  [dify, upstream] = await Promise.all([
    createDifyFixture({ level: "1.15.0", spaces: 1 }),
    startMcpUpstream(),
    // Built as the stack builds it, with the API's URL.
    buildWeb(webDir, { VITE_API_URL: apiUrl }),
  ]);
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await Promise.all([site, api].map((server) => new Promise((resolve) => server?.close(resolve))));
  await local?.close();
  await dify?.close();
  await upstream?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("the hosted UI on its own origin, the API on API Gateway's", () => {
  it("signs in, adds a platform and syncs one space, with every preflight answered by the API", async () => {
    const { page } = browser;
    const [space] = dify.spaces;
    const settings = databaseSettings(dify.url);

    await page.goto(siteOrigin);
    await page.getByLabel("Admin password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("No agent platforms yet").waitFor();

    await page.getByRole("link", { name: "Add platform" }).click();
    await page.getByLabel("Name", { exact: true }).fill("Dify");
    await page.getByLabel("Host", { exact: true }).fill(settings.host);
    await page.getByLabel("Port", { exact: true }).fill(String(settings.port));
    await page.getByLabel("Database name", { exact: true }).fill(settings.database);
    await page.getByLabel("User", { exact: true }).fill(settings.user);
    await page.getByLabel("Password", { exact: true }).fill(settings.password);
    await page.getByLabel("SSL mode").selectOption("disable");
    await page.getByRole("button", { name: "Save platform" }).click();
    await page.getByRole("heading", { name: "Spaces found" }).waitFor();

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Instances" }).click();
    await page.getByRole("link", { name: "Add instance" }).click();
    await page.getByLabel("Name", { exact: true }).fill("Echo tools");
    await page.getByLabel("MCP server URL").fill(upstream.mcpUrl);
    await page.getByRole("button", { name: "Save and list tools" }).click();
    await page.getByRole("heading", { name: "echo", exact: true }).waitFor();

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Instances" }).click();
    await page.getByLabel("Select Echo tools").check();
    await page.getByRole("button", { name: "Sync to Dify (1)" }).click();
    await page.getByLabel(`Select ${space!.name}`).check();
    await page.getByRole("button", { name: "Review and sync" }).click();
    await page
      .getByRole("dialog", { name: "Start the sync?" })
      .getByRole("button", { name: "Start sync" })
      .click();
    await page.locator(`tr[data-space="${space!.name}"] [data-status="synced"]`).waitFor();

    const rows = await dify.query("SELECT id FROM tool_mcp_providers WHERE tenant_id = $1", [space!.id]);
    expect(rows).toHaveLength(1);
    // The browser asked before each authorized call, and the API allowed the site's origin and
    // named Authorization (a wildcard does not cover it).
    expect(preflights.length).toBeGreaterThan(0);
    for (const preflight of preflights) {
      expect(preflight).toMatchObject({
        origin: siteOrigin,
        status: 204,
        headers: {
          "access-control-allow-origin": siteOrigin,
          "access-control-allow-headers": "Authorization,Content-Type",
        },
      });
    }
  }, 150_000);

  it("does not allow another origin", async () => {
    const response = await fetch(`${apiUrl}/api/platforms`, {
      method: "OPTIONS",
      headers: {
        Origin: "http://elsewhere.example",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
      },
    });
    expect(response.headers.get("access-control-allow-origin")).not.toBe("http://elsewhere.example");
  });
});
