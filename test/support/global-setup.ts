import type { TestProject } from "vitest/node";
import { startEmbeddedPostgres } from "../../dev/embedded-postgres";

declare module "vitest" {
  export interface ProvidedContext {
    /** Superuser URL of the PostgreSQL the tests use (embedded 15.x, or TEST_DATABASE_URL). */
    postgresUrl: string;
  }
}

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
  const postgres = await startEmbeddedPostgres({ flags: ["-c", "max_connections=300", "-c", "fsync=off"] });
  project.provide("postgresUrl", postgres.url());
  return () => postgres.stop();
}
