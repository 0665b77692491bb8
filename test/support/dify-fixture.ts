import {
  createDifyFixture as createIn,
  type DifyFixture,
  type DifyFixtureOptions,
} from "../../dev/dify-fixture";
import { createTestDatabase, postgresUrl } from "./postgres";

export * from "../../dev/dify-fixture";

/**
 * The Dify fixture in a fresh database of the test PostgreSQL, dropped with its roles at close();
 * or, given `url`, in that database, which stays the caller's.
 */
export async function createDifyFixture(
  options: Omit<DifyFixtureOptions, "url" | "adminUrl"> & { url?: string },
): Promise<DifyFixture> {
  if (options.url) return createIn({ ...options, url: options.url });
  const { url } = await createTestDatabase("dify");
  return createIn({ ...options, url, adminUrl: postgresUrl() });
}
