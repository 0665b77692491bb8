/**
 * How fast the local product syncs one instance into many Dify spaces: a fixture Dify (an embedded
 * PostgreSQL 15 with Dify's schema at 1.15 and SPACES tenants, each with a real RSA key and an
 * active owner), a real MCP server, and the whole product in this process. Times POST /api/syncs
 * until the in-process queue has handled every item, then the same sync again (every row exists).
 *
 *   npm run bench:sync            SPACES=1000 to change the size
 *
 * Round trips to Dify's database are counted on the client: every pg Client.query() the product
 * makes to the Dify database while the job runs (one query is one round trip: pg sends it and waits
 * for its answer). Table operations are the DynamoDB commands the product sends (dynalite here).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { createDifyFixture, databaseSettings } from "../../dev/dify-fixture";
import { startEmbeddedPostgres } from "../../dev/embedded-postgres";
import { startMcpUpstream } from "../../dev/mcp-upstream";
import { logger } from "../../functions/core/log";
import type { MemoryQueue } from "../../functions/core/queue/memory";
import { startLocal } from "../../functions/local/server";
import { interceptDynamo } from "../support/dynamodb-faults";

const SPACES = Number(process.env.SPACES ?? 1000);
const AIM_SPACES_PER_SECOND = 100;

// A line per request and per synced space would bury the figures; LOG_LEVEL=INFO brings them back.
if (!process.env.POWERTOOLS_LOG_LEVEL && !process.env.LOG_LEVEL) logger.setLogLevel("WARN");

/** Counts pg queries per database name, for every pg client in this process. */
function countQueries() {
  const counts = new Map<string, number>();
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    counts.set(this.database ?? "", (counts.get(this.database ?? "") ?? 0) + 1);
    return (original as (...args: unknown[]) => unknown).apply(this, args);
  } as typeof original;
  return { of: (database: string) => counts.get(database) ?? 0 };
}

const cleanups: Array<() => Promise<unknown>> = [];
const dataDir = mkdtempSync(path.join(tmpdir(), "spacegate-bench-"));
process.on("exit", () => {
  rmSync(dataDir, { recursive: true, force: true });
});

async function main() {
  const startedAt = performance.now();
  const queries = countQueries();

  const postgres = await startEmbeddedPostgres({ databases: ["dify"], name: "spacegate-bench-pg" });
  cleanups.push(() => postgres.stop());
  const dify = await createDifyFixture({
    level: "1.15.0",
    spaces: SPACES,
    url: postgres.url("dify"),
  });
  cleanups.push(() => dify.close());
  const role = await dify.createRestrictedRole({ canWrite: true });
  const spaceIds = dify.spaces.filter((space) => space.name.startsWith("Space ")).map((space) => space.id);

  const upstream = await startMcpUpstream({ toolCount: 20 });
  cleanups.push(() => upstream.close());
  const adminPassword = randomBytes(16).toString("hex");
  const local = await startLocal({ dataDir, port: 0, inMemory: true, adminPassword });
  cleanups.push(() => local.close());
  const queue = local.runtime.queue as MemoryQueue;
  const tableOperations = new Map<string, number>();
  interceptDynamo(local.runtime.store, (command) => {
    const kind = command.replace(/Command$/, "");
    tableOperations.set(kind, (tableOperations.get(kind) ?? 0) + 1);
  });
  const operationCounts = () => new Map(tableOperations);

  let token = "";
  const api = async <T>(method: string, route: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${local.url}${route}`, {
      method,
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok)
      throw new Error(`${method} ${route} answered ${response.status}: ${await response.text()}`);
    return (await response.json()) as T;
  };
  ({ token } = await api<{ token: string }>("POST", "/api/auth/login", { password: adminPassword }));
  const platform = await api<{ id: string }>("POST", "/api/platforms", {
    name: "Bench Dify",
    kind: "dify-community",
    database: databaseSettings(role.url),
  });
  const instance = await api<{ id: string; toolCount: number }>("POST", "/api/instances", {
    name: "Bench tools",
    upstream: { url: upstream.mcpUrl, transport: "streamable-http" },
    headers: { "X-Upstream-Key": "bench-key" },
  });
  if (instance.toolCount === 0) throw new Error("the instance's tools discovery found nothing");

  type Job = { id: string; status: string; counts: Record<string, number>; total: number };
  const sync = async () => {
    const queriesBefore = queries.of("dify");
    const operationsBefore = operationCounts();
    const began = performance.now();
    const cpuBefore = process.cpuUsage();
    const job = await api<Job>("POST", "/api/syncs", {
      platformId: platform.id,
      instanceIds: [instance.id],
      spaces: spaceIds.map((spaceId) => ({ spaceId })),
    });
    const accepted = performance.now();
    await queue.idle();
    const finished = performance.now();
    const cpu = process.cpuUsage(cpuBefore);
    const roundTrips = queries.of("dify") - queriesBefore;
    const operations = [...operationCounts()].map(
      ([kind, count]) => [kind, (count - (operationsBefore.get(kind) ?? 0)) / spaceIds.length] as const,
    );
    const { job: done } = await api<{ job: Job }>("GET", `/api/syncs/${job.id}`);
    if (done.status !== "done" || done.counts.synced !== spaceIds.length) {
      throw new Error(`the job ended ${done.status}: ${JSON.stringify(done.counts)}`);
    }
    const seconds = (finished - began) / 1000;
    return {
      seconds,
      acceptedSeconds: (accepted - began) / 1000,
      perSecond: spaceIds.length / seconds,
      roundTripsPerSpace: roundTrips / spaceIds.length,
      cpuMsPerSpace: (cpu.user + cpu.system) / 1000 / spaceIds.length,
      operationsPerSpace: operations.reduce((sum, [, count]) => sum + count, 0),
      operations: operations
        .filter(([, count]) => count > 0)
        .map(([kind, count]) => `${kind} ${count.toFixed(1)}`)
        .join(", "),
    };
  };

  console.log(
    `Sync benchmark: one instance (${instance.toolCount} tools) into ${spaceIds.length} spaces of a Dify 1.15 ` +
      `schema on embedded PostgreSQL 15; Node ${process.version}, ${cpus().length} CPUs ` +
      `(${cpus()[0]?.model.trim()}), load average ${loadavg()[0]?.toFixed(1)} at the start`,
  );
  console.log("");
  console.log(
    "run              | spaces/s | total s | 202 after s | Dify round trips/space | table ops/space | CPU ms/space",
  );
  const rows = [
    { name: "first sync", result: await sync() },
    { name: "sync again", result: await sync() },
  ];
  for (const { name, result } of rows) {
    console.log(
      `${name.padEnd(17)}|${result.perSecond.toFixed(1).padStart(9)} |${result.seconds.toFixed(2).padStart(8)} |` +
        `${result.acceptedSeconds.toFixed(2).padStart(12)} |${result.roundTripsPerSpace.toFixed(2).padStart(23)} |` +
        `${result.operationsPerSpace.toFixed(1).padStart(16)} |${result.cpuMsPerSpace.toFixed(2).padStart(13)}`,
    );
  }
  for (const { name, result } of rows) console.log(`table ops/space in the ${name}: ${result.operations}`);
  const [{ count } = { count: "0" }] = await dify.query<{ count: string }>(
    "SELECT count(*) FROM tool_mcp_providers",
  );
  if (Number(count) !== spaceIds.length)
    throw new Error(`${count} provider rows in Dify, not ${spaceIds.length}`);
  const first = rows[0]!.result;
  console.log(
    `\nfirst sync: ${first.perSecond.toFixed(1)} spaces a second (aim ≥ ${AIM_SPACES_PER_SECOND}): ` +
      `${first.perSecond >= AIM_SPACES_PER_SECOND ? "met" : "missed"}; ${count} provider rows in Dify`,
  );
  console.log(`(${((performance.now() - startedAt) / 1000).toFixed(1)} s in all)`);
}

try {
  await main();
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
}
