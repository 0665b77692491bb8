import pg from "pg";
import { z } from "zod";
import { ErrorCode } from "../error-code";
import { AppError } from "../errors";
import { type DatabaseSettings, toPgConfig } from "./connection";
import { classifyPgError } from "./errors";
import { readProviderSchema } from "./schema";

/** What the check can report: the connection's failures, and what it found wrong with the database. */
export const CheckCode = ErrorCode.extract([
  "dns_not_found",
  "connection_refused",
  "timeout",
  "auth_failed",
  "database_not_found",
  "ssl_required",
  "ssl_failed",
  "ssl_untrusted",
  "dify_unreachable",
  "not_dify",
  "dify_too_old",
  "no_read_permission",
  "no_write_permission",
]);

export const CheckResult = z.discriminatedUnion("ok", [
  z.object({
    ok: z.literal(true),
    checkedAt: z.iso.datetime(),
    alembicHead: z.string().nullable().describe("Dify's head migration, for display; null if unreadable"),
    columns: z.array(z.string()).describe("Columns of tool_mcp_providers, in table order"),
    capabilities: z.object({
      timeouts: z.boolean(),
      headers: z.boolean(),
      identityMode: z
        .boolean()
        .describe(
          "Dify sends each user's SSO token (identity_mode, Enterprise 1.15+); without it, instances whose identity is forward or verify fail to sync here with identity_unsupported",
        ),
      transport: z.boolean().describe("Dify picks the transport from a column, which Spacegate fills"),
      serverIdentifierMaxLength: z.number().int(),
    }),
    optionalColumns: z
      .array(z.string())
      .describe("Columns only some Dify versions have, found here; Spacegate writes them"),
    defaultedColumns: z
      .array(z.string())
      .describe("Columns Spacegate does not know that have a default or allow NULL: left to Dify's default"),
    unknownRequiredColumns: z
      .array(z.string())
      .describe("NOT NULL columns without a default that Spacegate cannot fill: writing will be refused"),
    spaceCount: z.number().int().describe("All tenants, archived ones included"),
    spacesWithoutKey: z
      .number()
      .int()
      .describe("Normal (not archived) tenants whose encrypt_public_key is not a PEM public key"),
    latencyMs: z.number().describe("How long the whole check took, connecting included"),
  }),
  z.object({
    ok: z.literal(false),
    checkedAt: z.iso.datetime(),
    code: CheckCode,
    message: z.string(),
  }),
]);
export type CheckResult = z.infer<typeof CheckResult>;

type Found = Omit<Extract<CheckResult, { ok: true }>, "ok" | "checkedAt" | "latencyMs">;

const DIFY_TABLES = ["tenants", "accounts", "tenant_account_joins"];
const READ_TABLES = [...DIFY_TABLES, "tool_mcp_providers"];

type TableRow = { name: string; present: boolean; can_select: boolean };

const failure = (code: z.infer<typeof CheckCode>, message: string) => new AppError(code, message);

async function inspect(client: pg.Client, settings: DatabaseSettings): Promise<Found> {
  await client.connect();
  const where = `database ${settings.database} at ${settings.host}:${settings.port}`;

  // has_table_privilege(oid) is strict, so a missing table yields null rather than an error.
  const { rows } = await client.query<TableRow>(
    `SELECT name, to_regclass(name) IS NOT NULL AS present,
            coalesce(has_table_privilege(to_regclass(name), 'SELECT'), false) AS can_select
       FROM unnest($1::text[]) AS name`,
    [[...READ_TABLES, "alembic_version"]],
  );
  const table = (name: string) => rows.find((row) => row.name === name)!;

  const missing = DIFY_TABLES.filter((name) => !table(name).present);
  if (missing.length > 0)
    throw failure(
      "not_dify",
      `The ${where} lacks Dify's tables (${missing.join(", ")}), so it is not a Dify database. Check the database name (Dify's default is "dify").`,
    );
  if (!table("tool_mcp_providers").present)
    throw failure(
      "dify_too_old",
      `This Dify database has no tool_mcp_providers table: MCP tools need Dify 1.6.0 or later. Upgrade Dify and run its database migrations.`,
    );
  const unreadable = READ_TABLES.filter((name) => !table(name).can_select);
  if (unreadable.length > 0)
    throw failure(
      "no_read_permission",
      `User ${settings.user} cannot read ${unreadable.join(", ")} in the ${where}. Grant it SELECT on ${READ_TABLES.join(", ")}.`,
    );
  const { rows: denied } = await client.query<{ privilege: string }>(
    `SELECT privilege FROM unnest(ARRAY['INSERT', 'UPDATE', 'DELETE']) AS privilege
      WHERE NOT has_table_privilege('tool_mcp_providers', privilege)`,
  );
  if (denied.length > 0)
    throw failure(
      "no_write_permission",
      `User ${settings.user} lacks ${denied.map((row) => row.privilege).join(", ")} on tool_mcp_providers in the ${where}. Grant it INSERT, UPDATE and DELETE on that table.`,
    );

  const schema = await readProviderSchema(client);
  const alembic = table("alembic_version");
  const head =
    alembic.present && alembic.can_select
      ? await client.query<{ version_num: string }>("SELECT version_num FROM alembic_version LIMIT 1")
      : undefined;
  const { rows: counts } = await client.query<{ space_count: number; spaces_without_key: number }>(
    `SELECT count(*)::int AS space_count,
            (count(*) FILTER (WHERE status = 'normal'
               AND (encrypt_public_key IS NULL OR encrypt_public_key NOT LIKE '-----BEGIN %PUBLIC KEY-----%')))::int
              AS spaces_without_key
       FROM tenants`,
  );

  return {
    alembicHead: head?.rows[0]?.version_num ?? null,
    columns: [...schema.columns.keys()],
    capabilities: schema.capabilities,
    optionalColumns: schema.optionalColumns,
    defaultedColumns: schema.defaultedColumns,
    unknownRequiredColumns: schema.unknownRequiredColumns,
    spaceCount: counts[0]?.space_count ?? 0,
    spacesWithoutKey: counts[0]?.spaces_without_key ?? 0,
  };
}

/**
 * Proves that the settings reach a Dify database Spacegate can write to. Expected failures come
 * back as `{ ok: false, code, message }`, never thrown; the whole check ends within `timeoutMs`.
 */
export async function checkDify(
  settings: DatabaseSettings,
  options: { timeoutMs?: number } = {},
): Promise<CheckResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const checkedAt = new Date().toISOString();
  const started = performance.now();
  const client = new pg.Client(
    toPgConfig(settings, { connectTimeoutMs: timeoutMs, statementTimeoutMs: timeoutMs }),
  );
  client.on("error", () => {});

  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(Object.assign(new Error("timeout expired"), { code: "ETIMEDOUT" })),
      timeoutMs,
    );
  });
  try {
    const found = await Promise.race([inspect(client, settings), deadline]);
    return { ok: true, checkedAt, ...found, latencyMs: Math.round(performance.now() - started) };
  } catch (error) {
    const { code, message } = classifyPgError(error, settings);
    return { ok: false, checkedAt, code: CheckCode.catch("dify_unreachable").parse(code), message };
  } finally {
    clearTimeout(timer);
    // Not awaited: ending a connection that never answered must not stretch the check.
    void client.end().catch(() => {});
  }
}
