import { createHash } from "node:crypto";
import type pg from "pg";
import { AppError, type ErrorCode } from "../errors";
import type { ToolInfo } from "../mcp/discover";
import type { Transport } from "../transport";
import { encryptToken, isUsablePublicKey } from "./encrypt-token";
import { classifyPgError } from "./errors";
import { type ColumnInfo, type ProviderSchema, readProviderSchema } from "./schema";
import { toDifyTools } from "./tools";

export interface ProviderSpec {
  /** Dify tenant (space) id. */
  tenantId: string;
  name: string;
  /** ^[a-z0-9_-]{1,24}$; apps reference tools by it. */
  serverIdentifier: string;
  /** The gateway URL, plaintext. */
  serverUrl: string;
  /** How Dify reaches the gateway URL; written where Dify has a `transport` column. */
  transport: Transport;
  /**
   * Names what the row belongs to on Spacegate's side (one access grant). A new row's id is derived
   * from it and the tenant, so a row Spacegate wrote is known as its own even before its id is
   * recorded; a row created in Dify has an id Dify chose and can never match.
   */
  owner: string;
  /** "sg_…", plaintext. */
  credential: string;
  icon: { emoji: string; background: string };
  tools: ToolInfo[];
  /** Dify sends the calling user's SSO token (identity_mode 'idp_token', Dify Enterprise 1.15+). */
  identity?: boolean;
  timeouts: { timeout: number; sseReadTimeout: number };
  /** The provider id recorded after an earlier sync (rows written before ids were derived included). */
  knownProviderId?: string | null;
  /** The `digest` returned by the earlier sync: tells an edit in Dify from a change of ours. */
  knownDigest?: string | null;
  /**
   * Leave our row as it is when it already holds what would be written and nothing was edited in
   * Dify (the scheduled refresh); not for a new credential, which the digest does not cover.
   */
  skipUnchanged?: boolean;
}

export interface WriteResult {
  providerId: string;
  action: "created" | "updated" | "unchanged";
  /** Our row had been deleted or edited in Dify since we last wrote it. */
  repairedDrift: boolean;
  userId: string;
  serverUrlHash: string;
  /** Fingerprint of the row's visible content as written; pass it back as `knownDigest`. */
  digest: string;
  /** Database round trips this write used. */
  roundTrips: number;
}

type Row = Record<string, unknown>;
type ProviderRow = Row & { id: string; name: string; server_identifier: string; server_url_hash: string };
type TenantRow = {
  name: string;
  status: string;
  encrypt_public_key: string | null;
  user_id: string | null;
  providers: ProviderRow[];
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const IDENTIFIER = /^[a-z0-9_-]+$/;
const SCHEMA_TTL_MS = 60_000;
const NOW_UTC = "(now() AT TIME ZONE 'utc')";

const schemas = new WeakMap<pg.Pool, { schema: ProviderSchema; readAt: number }>();

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

const refuse = (code: ErrorCode, message: string, details?: unknown) =>
  new AppError(code, message, { details });

// The tenant, its active owner (else an active admin), and every row that holds one of our ids, our
// URL, name or identifier, locked so Dify cannot delete one between our read and our write.
const FIND_SQL = `
  SELECT t.name, t.status, t.encrypt_public_key,
         (SELECT j.account_id
            FROM tenant_account_joins j JOIN accounts a ON a.id = j.account_id
           WHERE j.tenant_id = t.id AND j.role IN ('owner', 'admin') AND a.status = 'active'
           ORDER BY j.role = 'owner' DESC, j.created_at, a.id
           LIMIT 1) AS user_id,
         (SELECT coalesce(json_agg(p), '[]'::json)
            FROM (SELECT * FROM tool_mcp_providers
                   WHERE tenant_id = t.id
                     AND (id = ANY($2::uuid[]) OR server_url_hash = $3 OR name = $4 OR server_identifier = $5)
                     FOR UPDATE) p) AS providers
    FROM tenants t
   WHERE t.id = $1`;

/** Python's json.dumps for a flat object: ", " and ": " separators, non-ASCII as \uXXXX escapes. */
const pythonJson = (value: Record<string, string>) =>
  `{${Object.entries(value)
    .map(([key, text]) => `${JSON.stringify(key)}: ${JSON.stringify(text)}`)
    .join(", ")}}`.replace(
    /[\u0080-\uffff]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );

const withToken = (url: string, credential: string) =>
  `${url}${url.includes("?") ? "&" : "?"}sg_token=${encodeURIComponent(credential)}`;

const lockKey = (tenantId: string, serverIdentifier: string) =>
  createHash("sha256")
    .update(`spacegate:mcp-provider\0${tenantId}\0${serverIdentifier}`)
    .digest()
    .readBigInt64BE(0);

/**
 * The id Spacegate gives the row of `owner` in `tenantId`: a UUID (version 8, custom) from a hash of
 * both. Dify creates its own rows with random ids, so only a row Spacegate wrote carries it.
 */
export function ownedProviderId(tenantId: string, owner: string): string {
  const bytes = createHash("sha256").update(`spacegate:mcp-provider-id\0${tenantId}\0${owner}`).digest();
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x80;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// The values the transport column may use for each transport, the most likely first. No Dify code
// reading the column was found in its public source: its migration defaults to 'sse', Dify's Python
// MCP configurations name the other 'streamable_http', and Dify's URL-based client calls it "mcp".
// When the column limits its values (an enum or a CHECK), the first one it accepts is written.
const TRANSPORT_VALUES: Record<ProviderSpec["transport"], string[]> = {
  "streamable-http": ["streamable_http", "streamable-http", "streamablehttp", "mcp", "http"],
  sse: ["sse"],
};

const transportValue = (column: ColumnInfo | undefined, transport: ProviderSpec["transport"]) => {
  const candidates = TRANSPORT_VALUES[transport];
  if (!column?.values) return candidates[0];
  return candidates.find((value) => column.values?.includes(value));
};

const parseJson = (value: unknown): unknown => {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
};

// Sorted keys, nulls dropped: Dify's own rewrite of `tools` (pydantic model_dump) writes absent
// fields as null, which is no edit.
const canonical = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, item]) => item !== null)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, item]) => [key, canonical(item)]),
  );
};

const DIGEST_COLUMNS = [
  "name",
  "server_identifier",
  "server_url_hash",
  "icon",
  "authed",
  "tools",
  "timeout",
  "sse_read_timeout",
  "identity_mode",
  "transport",
];

// Every row of a sync holds the same tool list: its canonical form is worked out once.
const canonicalTexts = new Map<string, unknown>();
const canonicalColumn = (value: unknown): unknown => {
  if (typeof value !== "string" || value.length < 1024) return canonical(parseJson(value));
  let form = canonicalTexts.get(value);
  if (form === undefined) {
    form = canonical(parseJson(value));
    if (canonicalTexts.size >= 16) canonicalTexts.delete(canonicalTexts.keys().next().value as string);
    canonicalTexts.set(value, form);
  }
  return form;
};

/** What a person sees and edits in a provider row; encrypted values, author and timestamps left out. */
const digestOf = (row: Row) => {
  const headers = parseJson(row.encrypted_headers);
  const credentials = parseJson(row.encrypted_credentials);
  return sha256(
    JSON.stringify([
      ...DIGEST_COLUMNS.map((column) => canonicalColumn(row[column] ?? null)),
      headers && typeof headers === "object" ? Object.keys(headers).sort() : [],
      credentials && typeof credentials === "object"
        ? Object.keys(credentials).length > 0
        : Boolean(credentials),
    ]),
  );
};

/** A row Spacegate did not write that holds our URL, name or identifier: reported, never touched. */
const conflictWith = (row: ProviderRow, spec: ProviderSpec, serverUrlHash: string, spaceName: string) => {
  const details = { providerId: row.id, name: row.name, serverIdentifier: row.server_identifier };
  const where = `in space "${spaceName}", created in Dify (Spacegate has no record of writing it)`;
  if (row.server_url_hash === serverUrlHash)
    return refuse(
      "url_conflict",
      `A provider named "${row.name}" (server identifier "${row.server_identifier}") already points at this instance's gateway URL ${where}. Spacegate leaves it as it is: delete it in Dify, then sync again.`,
      details,
    );
  if (row.name === spec.name)
    return refuse(
      "name_conflict",
      `A provider named "${row.name}" already exists ${where}; rename the instance or remove that provider.`,
      details,
    );
  return refuse(
    "name_conflict",
    `A provider with server identifier "${row.server_identifier}" ("${row.name}") already exists ${where}; change the instance's identifier or remove that provider.`,
    details,
  );
};

const UNIQUE_FIELDS: Record<string, string> = {
  unique_mcp_provider_name: "name",
  unique_mcp_provider_server_identifier: "server identifier",
  unique_mcp_provider_server_url: "gateway URL",
};

/** Our refusals as they are, programming errors raw, everything from PostgreSQL or the network classified. */
const toAppError = (error: unknown): unknown => {
  if (error instanceof AppError || error instanceof TypeError || error instanceof RangeError) return error;
  const pgError = error as { code?: string; constraint?: string; column?: string };
  if (pgError.code === "23505")
    return refuse(
      pgError.constraint === "unique_mcp_provider_server_url" ? "url_conflict" : "name_conflict",
      `A provider with the same ${UNIQUE_FIELDS[pgError.constraint ?? ""] ?? "name"} was just created in this Dify space by someone else; rename the instance or remove that provider, then sync again.`,
      { constraint: pgError.constraint },
    );
  if (pgError.code === "23502")
    return refuse(
      "unknown_required_column",
      `Dify's tool_mcp_providers requires a value in column ${pgError.column ?? "(unknown)"}, which Spacegate does not know how to fill. This Dify is newer than Spacegate supports.`,
      { columns: [pgError.column] },
    );
  if (pgError.code === "42501")
    return refuse(
      "no_write_permission",
      "The database user may not write tool_mcp_providers. Grant it SELECT, INSERT, UPDATE and DELETE on that table.",
    );
  return classifyPgError(error);
};

type Query = (sql: string, params?: unknown[]) => Promise<pg.QueryResult>;

/**
 * Runs `work` in one transaction holding a transaction-level advisory lock on `key`; rolls back on
 * any error. BEGIN and the lock share a round trip. Counts the round trips through `query`.
 */
async function inTransaction<T>(
  pool: pg.Pool,
  key: bigint,
  work: (query: Query) => Promise<T>,
): Promise<{ result: T; roundTrips: number }> {
  let roundTrips = 0;
  const client = await pool.connect();
  const query: Query = (sql, params) => {
    roundTrips++;
    return client.query(sql, params);
  };
  try {
    await query(`BEGIN; SELECT pg_advisory_xact_lock('${key}'::bigint)`);
    const result = await work(query);
    await query("COMMIT");
    client.release();
    return { result, roundTrips };
  } catch (error) {
    const rolledBack = await client.query("ROLLBACK").then(
      () => true,
      () => false,
    );
    client.release(!rolledBack);
    throw error;
  }
}

async function providerSchema(pool: pg.Pool): Promise<{ schema: ProviderSchema; roundTrips: number }> {
  const cached = schemas.get(pool);
  if (cached && Date.now() - cached.readAt < SCHEMA_TTL_MS) return { schema: cached.schema, roundTrips: 0 };
  const schema = await readProviderSchema(pool);
  schemas.set(pool, { schema, readAt: Date.now() });
  return { schema, roundTrips: 1 };
}

const checkSpec = (spec: ProviderSpec, schema: ProviderSchema) => {
  if (schema.unknownRequiredColumns.length > 0)
    throw refuse(
      "unknown_required_column",
      `Dify's tool_mcp_providers has required columns Spacegate does not know how to fill: ${schema.unknownRequiredColumns.join(", ")}. This Dify is newer than Spacegate supports.`,
      { columns: schema.unknownRequiredColumns },
    );
  const maxIdentifier = schema.capabilities.serverIdentifierMaxLength;
  if (spec.serverIdentifier.length > maxIdentifier)
    throw refuse(
      "identifier_too_long",
      `The server identifier "${spec.serverIdentifier}" has ${spec.serverIdentifier.length} characters; this Dify accepts at most ${maxIdentifier}. Choose a shorter identifier.`,
      { maxLength: maxIdentifier },
    );
  if (!IDENTIFIER.test(spec.serverIdentifier))
    throw refuse(
      "invalid_identifier",
      `The server identifier "${spec.serverIdentifier}" may hold only lowercase letters, digits, "_" and "-".`,
    );
  const maxName = schema.columns.get("name")?.maxLength ?? 40;
  if (spec.name.length === 0 || spec.name.length > maxName)
    throw refuse("invalid_name", `A provider name must have 1 to ${maxName} characters.`, {
      maxLength: maxName,
    });
  if (spec.identity && !schema.capabilities.identityMode)
    throw refuse(
      "identity_unsupported",
      "This Dify has no per-user identity for MCP providers (identity_mode, Dify Enterprise 1.15+): set the instance's identity to off, or upgrade Dify.",
    );
  if (!UUID.test(spec.tenantId))
    throw refuse("tenant_not_found", `There is no Dify space with id ${spec.tenantId}.`, {
      spaceId: spec.tenantId,
    });
};

/**
 * Writes Spacegate's MCP provider row into one Dify tenant, in one transaction serialised per
 * (tenant, identifier): creates it, or updates the row that is ours. A row is ours only by its id:
 * the one recorded after an earlier sync, or the one derived from the owner (`ownedProviderId`).
 * Never touches any other row: one holding our gateway URL makes it refuse with `url_conflict`,
 * one holding our name or identifier with `name_conflict`.
 */
export async function writeProvider(
  pool: pg.Pool,
  spec: ProviderSpec,
  options: { schema?: ProviderSchema } = {},
): Promise<WriteResult> {
  try {
    const { schema, roundTrips: schemaTrips } = options.schema
      ? { schema: options.schema, roundTrips: 0 }
      : await providerSchema(pool);
    checkSpec(spec, schema);
    const headers = schema.capabilities.headers;
    const url = headers ? spec.serverUrl : withToken(spec.serverUrl, spec.credential);
    const serverUrlHash = sha256(url);
    const tools = toDifyTools(spec.tools);
    const knownId = spec.knownProviderId && UUID.test(spec.knownProviderId) ? spec.knownProviderId : null;
    const ownedId = ownedProviderId(spec.tenantId, spec.owner);
    const ownIds = knownId ? [knownId, ownedId] : [ownedId];

    const { result, roundTrips } = await inTransaction(
      pool,
      lockKey(spec.tenantId, spec.serverIdentifier),
      async (query) => {
        const { rows } = await query(FIND_SQL, [
          spec.tenantId,
          ownIds,
          serverUrlHash,
          spec.name,
          spec.serverIdentifier,
        ]);
        const tenant = rows[0] as TenantRow | undefined;
        if (!tenant)
          throw refuse("tenant_not_found", `There is no Dify space with id ${spec.tenantId}.`, {
            spaceId: spec.tenantId,
          });
        if (tenant.status !== "normal")
          throw refuse(
            "tenant_archived",
            `The Dify space "${tenant.name}" is archived (status ${tenant.status}); Spacegate does not write to it.`,
          );
        const publicKey = tenant.encrypt_public_key;
        if (publicKey === null || !isUsablePublicKey(publicKey))
          throw refuse(
            "key_not_pem",
            `The Dify space "${tenant.name}" keeps its encryption key outside the database, so Spacegate cannot encrypt for it. Choose another space.`,
          );
        if (!tenant.user_id)
          throw refuse(
            "no_owner",
            `The Dify space "${tenant.name}" has no active owner or admin to write the provider for. Activate one in Dify.`,
          );

        const ours = ownIds.map((id) => tenant.providers.find((row) => row.id === id)).find(Boolean);
        const foreign = tenant.providers
          .filter((row) => !ownIds.includes(row.id))
          .sort(
            (a, b) =>
              Number(b.server_url_hash === serverUrlHash) - Number(a.server_url_hash === serverUrlHash),
          );
        if (foreign[0]) throw conflictWith(foreign[0], spec, serverUrlHash, tenant.name);

        const values: Row = Object.fromEntries(
          Object.entries({
            name: spec.name,
            server_identifier: spec.serverIdentifier,
            server_url: encryptToken(publicKey, url),
            server_url_hash: serverUrlHash,
            icon: pythonJson({ content: spec.icon.emoji || "🔗", background: spec.icon.background }),
            tenant_id: spec.tenantId,
            user_id: tenant.user_id,
            encrypted_credentials: null,
            authed: true,
            tools,
            timeout: spec.timeouts.timeout,
            sse_read_timeout: spec.timeouts.sseReadTimeout,
            encrypted_headers: JSON.stringify({
              Authorization: encryptToken(publicKey, `Bearer ${spec.credential}`),
            }),
            identity_mode: spec.identity ? "idp_token" : "off",
            transport: transportValue(schema.columns.get("transport"), spec.transport),
          }).filter(([column, value]) => schema.columns.has(column) && value !== undefined),
        );
        const digest = digestOf(values);
        const repairedDrift =
          (knownId !== null && ours?.id !== knownId) ||
          (ours !== undefined && digestOf(ours) !== (spec.knownDigest ?? digest));

        if (spec.skipUnchanged && ours && !repairedDrift && digestOf(ours) === digest) {
          return {
            providerId: ours.id,
            action: "unchanged" as const,
            repairedDrift,
            userId: tenant.user_id,
            serverUrlHash,
            digest,
          };
        }
        const columns = Object.keys(values);
        const params = Object.values(values);
        let providerId: string;
        if (ours) {
          providerId = ours.id;
          const set = columns.filter((column) => column !== "tenant_id");
          await query(
            `UPDATE tool_mcp_providers
                SET ${set.map((column) => `${column} = $${columns.indexOf(column) + 2}`).join(", ")},
                    updated_at = ${NOW_UTC}
              WHERE id = $1 AND tenant_id = $${columns.indexOf("tenant_id") + 2}`,
            [providerId, ...params],
          );
        } else {
          providerId = ownedId;
          await query(
            `INSERT INTO tool_mcp_providers (id, ${columns.join(", ")}, created_at, updated_at)
             VALUES ($1, ${columns.map((_, index) => `$${index + 2}`).join(", ")}, ${NOW_UTC}, ${NOW_UTC})`,
            [providerId, ...params],
          );
        }
        return {
          providerId,
          action: ours ? ("updated" as const) : ("created" as const),
          repairedDrift,
          userId: tenant.user_id,
          serverUrlHash,
          digest,
        };
      },
    );
    return { ...result, roundTrips: schemaTrips + roundTrips };
  } catch (error) {
    // A column may have been added since the schema was cached.
    if (!(error instanceof AppError)) schemas.delete(pool);
    throw toAppError(error);
  }
}

/**
 * Deletes Spacegate's provider row, found only by its ids (the recorded one, and the one derived
 * from `owner`) in this tenant, and only while it still carries our identifier. Serialised with
 * writes of the same provider. Any other row, whatever URL, name or identifier it holds, is left.
 */
export async function removeProvider(
  pool: pg.Pool,
  tenantId: string,
  own: { providerId?: string | null; owner: string; serverIdentifier: string },
): Promise<{ removed: boolean }> {
  if (!UUID.test(tenantId)) return { removed: false };
  const ids = [ownedProviderId(tenantId, own.owner)];
  if (own.providerId && UUID.test(own.providerId)) ids.push(own.providerId);
  try {
    const { result } = await inTransaction(
      pool,
      lockKey(tenantId, own.serverIdentifier),
      async (query) =>
        (
          await query(
            "DELETE FROM tool_mcp_providers WHERE id = ANY($1::uuid[]) AND tenant_id = $2 AND server_identifier = $3",
            [ids, tenantId, own.serverIdentifier],
          )
        ).rowCount ?? 0,
    );
    return { removed: result > 0 };
  } catch (error) {
    throw toAppError(error);
  }
}
