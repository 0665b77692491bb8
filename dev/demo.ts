import { rmSync } from "node:fs";
import path from "node:path";
import { isAppError } from "../functions/core/errors";
import { logger } from "../functions/core/log";
import { startLocal } from "../functions/local/server";
import { createDifyFixture, databaseSettings } from "./dify-fixture";
import { startEmbeddedPostgres } from "./embedded-postgres";
import { startMcpUpstream } from "./mcp-upstream";

const SPACE_NAMES = ["Marketing", "Engineering", "Customer Support"];

const seed = process.argv.includes("--seed");
// Request logs would bury the instructions printed below; LOG_LEVEL=INFO brings them back.
if (!process.env.POWERTOOLS_LOG_LEVEL && !process.env.LOG_LEVEL) logger.setLogLevel("WARN");
const port = Number(process.env.PORT ?? 8787);
// Always its own directory: the demo wipes it at start, so it never takes SPACEGATE_DATA_DIR.
const dataDir = path.resolve(".data/demo");

const cleanups: Array<() => Promise<unknown>> = [];
let stopping = false;
const stop = async (code = 0) => {
  if (stopping) return;
  stopping = true;
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  process.exit(code);
};
// embedded-postgres stops its servers on these signals and exits 130 itself, racing the stop above;
// the demo stops everything in order, PostgreSQL last, and exits 0.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.removeAllListeners(signal);
  process.on(signal, () => void stop());
}

try {
  process.stdout.write("Starting the demo Dify database…\n");
  const postgres = await startEmbeddedPostgres({ databases: ["dify"], name: "spacegate-demo-pg" });
  cleanups.push(() => postgres.stop());
  const dify = await createDifyFixture({
    level: "1.15.0",
    spaces: SPACE_NAMES.length,
    url: postgres.url("dify"),
  });
  for (const [index, name] of SPACE_NAMES.entries()) {
    const space = dify.spaces[index]!;
    const owner = name.toLowerCase().replace(/\W+/g, ".");
    await dify.query(`UPDATE tenants SET name = $1 WHERE id = $2`, [name, space.id]);
    await dify.query(`UPDATE accounts SET name = $1, email = $2 WHERE id = $3`, [
      `${name} Lead`,
      `${owner}@example.com`,
      space.ownerId,
    ]);
  }
  const role = await dify.createRestrictedRole({ canWrite: true });
  // Done with the fixture's own connection: left open, Ctrl-C (which stops PostgreSQL too) would
  // end it from the server's side with an unhandled error.
  await dify.close();

  const upstream = await startMcpUpstream({ name: "demo-tools", version: "1.0.0" });
  cleanups.push(() => upstream.close());

  // A fresh demo each time: the demo database above is new, so yesterday's platform would not reach it.
  rmSync(dataDir, { recursive: true, force: true });
  const local = await startLocal({
    dataDir,
    port,
    host: process.env.HOST ?? "127.0.0.1",
    publicUrl: process.env.SPACEGATE_PUBLIC_URL,
    adminPassword: process.env.SPACEGATE_ADMIN_PASSWORD,
  });
  cleanups.push(() => local.close());
  const password = process.env.SPACEGATE_ADMIN_PASSWORD ?? local.generatedPassword ?? "";

  if (seed) {
    const call = async (route: string, body: unknown, token?: string) => {
      const response = await fetch(`${local.url}${route}`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify(body),
      });
      if (!response.ok) throw new Error(`${route} answered ${response.status}: ${await response.text()}`);
      return (await response.json()) as { token: string };
    };
    const { token } = await call("/api/auth/login", { password });
    await call(
      "/api/platforms",
      {
        name: "Demo Dify",
        kind: "dify-community",
        database: databaseSettings(role.url),
      },
      token,
    );
    await call(
      "/api/instances",
      {
        name: "Demo tools",
        description: "The demo MCP server: echo, add, slow and headers.",
        upstream: { url: upstream.mcpUrl, transport: "streamable-http" },
        headers: { "X-Api-Key": "demo-default-key" },
        icon: { emoji: "🧰", background: "#0EA5E9" },
      },
      token,
    );
  }

  const form = new URLSearchParams({
    name: "Demo Dify",
    host: "localhost",
    port: String(postgres.port),
    database: "dify",
    user: role.user,
    ssl: "disable",
  });
  const local127 = (url: string) => url.replace("//127.0.0.1:", "//localhost:");
  const lines = [
    "",
    "  Spacegate demo",
    "",
    `  Open       ${local.url}/`,
    `  Password   ${password}`,
    "",
    seed
      ? "  The platform “Demo Dify” and the instance “Demo tools” are registered. Go to Instances,"
      : "  1. Agent Platforms → Add platform, with the demo Dify's database:",
    ...(seed
      ? ["  select “Demo tools” and choose Sync to Dify."]
      : [
          `       Host       localhost`,
          `       Port       ${postgres.port}`,
          `       Database   dify`,
          `       User       ${role.user}`,
          `       Password   ${role.password}`,
          "       SSL mode   Disable (the demo database has no TLS)",
          "     or open the form with all but the password filled in:",
          `       ${local.url}/#/platforms/new?${form}`,
          "  2. Instances → Add instance:",
          `       URL        ${local127(upstream.mcpUrl)}   (Streamable HTTP)`,
          `                  ${local127(upstream.sseUrl)}   (SSE)`,
          "  3. Select the instance, Sync to Dify, choose spaces, and watch them sync.",
          "  4. Open the instance's Access configuration: reveal, rotate, disable, remove.",
        ]),
    "",
    `  The demo Dify has the spaces ${SPACE_NAMES.join(", ")}, one whose owner is banned (Spacegate writes as`,
    "  its admin), and two Spacegate refuses: an archived one and one whose key is not a PEM key.",
    `  MCP clients reach the gateway at ${local.runtime.config.publicUrl}/gateway/<instance id>/mcp.`,
    "",
    `  Ctrl-C stops everything. Data: ${dataDir} (wiped at the next demo start).`,
    "",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
} catch (error) {
  if (!isAppError(error)) logger.error("the demo could not start", { error: String(error) });
  process.stderr.write(`\n  The demo could not start: ${error instanceof Error ? error.message : error}\n\n`);
  await stop(1);
}
