import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";

/** Superuser URL of the test PostgreSQL server. */
export const postgresUrl = () => inject("postgresUrl");

export const withDatabase = (url: string, database: string) => {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
};

/** Creates an empty database with a unique name and returns its superuser URL. */
export async function createTestDatabase(prefix = "t"): Promise<{ name: string; url: string }> {
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: postgresUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  return { name, url: withDatabase(postgresUrl(), name) };
}
