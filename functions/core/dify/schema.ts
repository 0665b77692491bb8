import type pg from "pg";

export type Queryable = Pick<pg.ClientBase, "query">;

export type ColumnInfo = {
  type: string;
  nullable: boolean;
  hasDefault: boolean;
  maxLength: number | null;
  /** The values the column accepts when an enum type or a CHECK constraint limits it; null when free. */
  values: string[] | null;
};

export type ProviderCapabilities = {
  /** timeout and sse_read_timeout columns (Dify 1.7.2). */
  timeouts: boolean;
  /** encrypted_headers column (Dify 1.9.0). */
  headers: boolean;
  /** identity_mode column (Dify 1.15.0). */
  identityMode: boolean;
  /** transport column (migration d4e5f6a7b8c9): Dify picks the transport from it, not from the URL. */
  transport: boolean;
  /** Width of server_identifier: 24 before Dify 1.7.0, 64 after. */
  serverIdentifierMaxLength: number;
};

export type ProviderSchema = {
  columns: Map<string, ColumnInfo>;
  capabilities: ProviderCapabilities;
  /** Columns only some Dify versions have, that Spacegate writes where they exist. */
  optionalColumns: string[];
  /** Columns Spacegate does not know that are nullable or have a default: left to Dify's default. */
  defaultedColumns: string[];
  /** NOT NULL columns without a default that Spacegate does not know how to fill. */
  unknownRequiredColumns: string[];
};

/** The columns of tool_mcp_providers as Dify 1.6.0 created it. */
const BASE_PROVIDER_COLUMNS = [
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
];

/** Columns added later, in the order Dify added them. */
const OPTIONAL_PROVIDER_COLUMNS = [
  "timeout",
  "sse_read_timeout",
  "encrypted_headers",
  "identity_mode",
  "transport",
];

/** The tool_mcp_providers columns Spacegate knows how to fill. */
export const KNOWN_PROVIDER_COLUMNS: ReadonlySet<string> = new Set([
  ...BASE_PROVIDER_COLUMNS,
  ...OPTIONAL_PROVIDER_COLUMNS,
]);

type ColumnRow = {
  column_name: string;
  data_type: string;
  is_nullable: "YES" | "NO";
  has_default: boolean;
  character_maximum_length: number | null;
  enum_values: string[] | null;
  checks: string[] | null;
};

// The quoted literals of CHECK constraints on the column: `transport IN ('sse', 'mcp')` reads back
// from pg_get_constraintdef as `((transport)::text = ANY ((ARRAY['sse'::character varying, …`.
const checkedValues = (checks: string[] | null): string[] | null => {
  if (!checks || checks.length === 0) return null;
  const values = checks.flatMap((check) =>
    [...check.matchAll(/'((?:[^']|'')*)'/g)].map((match) => (match[1] ?? "").replaceAll("''", "'")),
  );
  return values.length > 0 ? [...new Set(values)] : null;
};

/** Reads tool_mcp_providers' columns in the current schema; detect features by column, not version. */
export async function readProviderSchema(client: Queryable): Promise<ProviderSchema> {
  const { rows } = await client.query<ColumnRow>(
    `SELECT c.column_name, c.data_type, c.is_nullable, c.character_maximum_length,
            (c.column_default IS NOT NULL OR c.is_identity = 'YES' OR c.is_generated = 'ALWAYS') AS has_default,
            (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
               FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
               JOIN pg_enum e ON e.enumtypid = t.oid
              WHERE t.typname = c.udt_name AND n.nspname = c.udt_schema) AS enum_values,
            (SELECT array_agg(pg_get_constraintdef(k.oid))
               FROM pg_constraint k
              WHERE k.conrelid = format('%I.%I', c.table_schema, c.table_name)::regclass
                AND k.contype = 'c'
                AND k.conkey = ARRAY[c.ordinal_position::smallint]) AS checks
       FROM information_schema.columns c
      WHERE c.table_schema = current_schema() AND c.table_name = 'tool_mcp_providers'
      ORDER BY c.ordinal_position`,
  );
  const columns = new Map<string, ColumnInfo>(
    rows.map((row) => [
      row.column_name,
      {
        type: row.data_type,
        nullable: row.is_nullable === "YES",
        hasDefault: row.has_default,
        maxLength: row.character_maximum_length,
        values: row.enum_values ?? checkedValues(row.checks),
      },
    ]),
  );
  const unknown = [...columns].filter(([name]) => !KNOWN_PROVIDER_COLUMNS.has(name));
  return {
    columns,
    capabilities: {
      timeouts: columns.has("timeout") && columns.has("sse_read_timeout"),
      headers: columns.has("encrypted_headers"),
      identityMode: columns.has("identity_mode"),
      transport: columns.has("transport"),
      serverIdentifierMaxLength: columns.get("server_identifier")?.maxLength ?? 24,
    },
    optionalColumns: OPTIONAL_PROVIDER_COLUMNS.filter((name) => columns.has(name)),
    defaultedColumns: unknown
      .filter(([, column]) => column.nullable || column.hasDefault)
      .map(([name]) => name),
    unknownRequiredColumns: unknown
      .filter(([, column]) => !column.nullable && !column.hasDefault)
      .map(([name]) => name),
  };
}
