import pg from "pg";
import { afterAll, describe, expect, test } from "vitest";
import { DifyPools } from "../../../functions/core/dify/connection";
import { classifyPgError } from "../../../functions/core/dify/errors";
import { databaseSettings } from "../../support/dify-fixture";
import { postgresUrl } from "../../support/postgres";

describe("DifyPools", () => {
  const pools = new DifyPools({ connectTimeoutMs: 5_000, statementTimeoutMs: 200 });
  afterAll(() => pools.closeAll());

  test("reuses a platform's pool until its settings change", () => {
    const settings = databaseSettings(postgresUrl());
    const first = pools.get("plt_a", settings);

    expect(pools.get("plt_a", { ...settings })).toBe(first);
    expect(pools.get("plt_a", { ...settings, password: "rotated" })).not.toBe(first);
    expect(pools.get("plt_b", settings)).not.toBe(first);
  });

  test("a statement that outlives statement_timeout is classified as timeout", async () => {
    const settings = databaseSettings(postgresUrl());
    const error = await pools
      .get("plt_slow", settings)
      .query("SELECT pg_sleep(5)")
      .catch((e: unknown) => e);

    expect(classifyPgError(error, settings)).toMatchObject({ code: "timeout", status: 422 });
  });

  test("survives an idle connection being killed by the server", async () => {
    const pool = pools.get("plt_killed", databaseSettings(postgresUrl()));
    const { rows } = await pool.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    const admin = new pg.Client({ connectionString: postgresUrl() });
    await admin.connect();

    const removed = new Promise((resolve) => pool.once("remove", resolve));
    await admin.query("SELECT pg_terminate_backend($1)", [rows[0]!.pid]);
    await removed;
    await admin.end();

    expect((await pool.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
  });
});
