import type pg from "pg";

export type Queryable = Pick<pg.ClientBase, "query">;

export type ColumnInfo = { type: string; nullable: boolean; hasDefault: boolean; maxLength: number | null };

export type ProviderCapabilities = {
  /** timeout and sse_read_timeout columns (Dify 1.7.2). */
  timeouts: boolean;
  /** encrypted_headers column (Dify 1.9.0). */
  headers: boolean;
  /** identity_mode column (Dify 1.15.0). */
  identityMode: boolean;
  /** Width of server_identifier: 24 before Dify 1.7.0, 64 after. */
  serverIdentifierMaxLength: number;
};

export type ProviderSchema = {
  columns: Map<string, ColumnInfo>;
  capabilities: ProviderCapabilities;
  /** NOT NULL columns without a default that Spacegate does not know how to fill. */
  unknownRequiredColumns: string[];
};

/** The tool_mcp_providers columns Spacegate knows how to fill (Dify 1.6.0 to 1.15.x). */
export const KNOWN_PROVIDER_COLUMNS: ReadonlySet<string> = new Set([
  "id",
  "name",
  "server_identifier",
  "server_url",
  "server_url_hash",
  "icon",
  "tenant_id",
  "user_id",
  "encrypted_credentials",
  "authed",
  "tools",
  "created_at",
  "updated_at",
  "timeout",
  "sse_read_timeout",
  "encrypted_headers",
  "identity_mode",
]);

type ColumnRow = {
  column_name: string;
  data_type: string;
  is_nullable: "YES" | "NO";
  has_default: boolean;
  character_maximum_length: number | null;
};

/** Reads tool_mcp_providers' columns in the current schema; detect features by column, not version. */
export async function readProviderSchema(client: Queryable): Promise<ProviderSchema> {
  const { rows } = await client.query<ColumnRow>(
    `SELECT column_name, data_type, is_nullable, character_maximum_length,
            (column_default IS NOT NULL OR is_identity = 'YES' OR is_generated = 'ALWAYS') AS has_default
       FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = 'tool_mcp_providers'
      ORDER BY ordinal_position`,
  );
  const columns = new Map<string, ColumnInfo>(
    rows.map((row) => [
      row.column_name,
      {
        type: row.data_type,
        nullable: row.is_nullable === "YES",
        hasDefault: row.has_default,
        maxLength: row.character_maximum_length,
      },
    ]),
  );
  return {
    columns,
    capabilities: {
      timeouts: columns.has("timeout") && columns.has("sse_read_timeout"),
      headers: columns.has("encrypted_headers"),
      identityMode: columns.has("identity_mode"),
      serverIdentifierMaxLength: columns.get("server_identifier")?.maxLength ?? 24,
    },
    unknownRequiredColumns: [...columns]
      .filter(([name, column]) => !KNOWN_PROVIDER_COLUMNS.has(name) && !column.nullable && !column.hasDefault)
      .map(([name]) => name),
  };
}
