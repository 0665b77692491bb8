import { createHash, generateKeyPair, randomBytes, randomUUID } from "node:crypto";
import { promisify } from "node:util";
import pg from "pg";
import type { DatabaseSettings } from "../functions/core/dify/connection";

export type DifyLevel = "1.6.0" | "1.9.0" | "1.15.0";

/** The head migration of each level: the one that last changed tool_mcp_providers. */
export const ALEMBIC_HEADS: Record<DifyLevel, string> = {
  "1.6.0": "58eb7bdb93fe",
  "1.9.0": "c20211f18133",
  "1.15.0": "3df4dbcc1e21",
};

export type FixtureSpace = {
  id: string;
  name: string;
  status: "normal" | "archive";
  /** The account Spacegate should write for: the active owner, else the active admin. */
  ownerId: string;
  ownerName: string;
  ownerEmail: string;
  privateKeyPem: string | null;
};

export type DifyFixture = {
  url: string;
  database: string;
  level: DifyLevel;
  spaces: FixtureSpace[];
  privateKeyFor(tenantId: string): string;
  createRestrictedRole(options: {
    canWrite: boolean;
  }): Promise<{ user: string; password: string; url: string }>;
  query<Row extends pg.QueryResultRow = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
  ): Promise<Row[]>;
  close(): Promise<void>;
};

type Queryable = Pick<pg.ClientBase, "query">;

const providerColumns = (level: DifyLevel) => [
  "id uuid DEFAULT uuid_generate_v4() NOT NULL",
  "name varchar(40) NOT NULL",
  `server_identifier varchar(${level === "1.6.0" ? 24 : 64}) NOT NULL`,
  "server_url text NOT NULL",
  "server_url_hash varchar(64) NOT NULL",
  "icon varchar(255)",
  "tenant_id uuid NOT NULL",
  "user_id uuid NOT NULL",
  "encrypted_credentials text",
  "authed boolean NOT NULL",
  "tools text NOT NULL",
  "created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP(0) NOT NULL",
  "updated_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP(0) NOT NULL",
  ...(level === "1.6.0"
    ? []
    : [
        "timeout double precision DEFAULT 30 NOT NULL",
        "sse_read_timeout double precision DEFAULT 300 NOT NULL",
        "encrypted_headers text",
      ]),
  ...(level === "1.15.0" ? ["identity_mode varchar(32) DEFAULT 'off' NOT NULL"] : []),
];

/**
 * Columns newer Dify databases may carry, for `extraColumns`: `transport` (migration d4e5f6a7b8c9),
 * and `forward_user_identity` (an intermediate 1.15 migration) that Spacegate leaves to its default.
 */
export const NEWER_PROVIDER_COLUMNS = {
  transport: "transport varchar(32) DEFAULT 'sse' NOT NULL",
  forwardUserIdentity: "forward_user_identity boolean DEFAULT false NOT NULL",
} as const;

/**
 * Creates Dify's tenants, accounts, tenant_account_joins, alembic_version and tool_mcp_providers as
 * Dify's migrations leave them at `level`. `extraColumns` are raw column definitions appended to
 * tool_mcp_providers (a newer Dify's columns).
 */
export async function buildDifySchema(db: Queryable, level: DifyLevel, extraColumns: string[] = []) {
  try {
    await db.query(`CREATE EXTENSION IF NOT EXISTS "uuid-ossp"`);
  } catch {
    await db.query(
      "CREATE FUNCTION uuid_generate_v4() RETURNS uuid LANGUAGE sql AS 'SELECT gen_random_uuid()'",
    );
  }
  await db.query(`
    CREATE TABLE alembic_version (
      version_num varchar(32) NOT NULL,
      CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
    );
    INSERT INTO alembic_version VALUES ('${ALEMBIC_HEADS[level]}');

    CREATE TABLE tenants (
      id uuid DEFAULT uuid_generate_v4() NOT NULL,
      name varchar(255) NOT NULL,
      encrypt_public_key text,
      plan varchar(255) DEFAULT 'basic' NOT NULL,
      status varchar(255) DEFAULT 'normal' NOT NULL,
      custom_config text,
      created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP(0) NOT NULL,
      updated_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP(0) NOT NULL,
      CONSTRAINT tenant_pkey PRIMARY KEY (id)
    );

    CREATE TABLE accounts (
      id uuid DEFAULT uuid_generate_v4() NOT NULL,
      name varchar(255) NOT NULL,
      email varchar(255) NOT NULL,
      password varchar(255),
      password_salt varchar(255),
      avatar varchar(255),
      interface_language varchar(255),
      interface_theme varchar(255),
      timezone varchar(255),
      last_login_at timestamp without time zone,
      last_login_ip varchar(255),
      last_active_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP(0) NOT NULL,
      status varchar(16) DEFAULT 'active' NOT NULL,
      initialized_at timestamp without time zone,
      created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP(0) NOT NULL,
      updated_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP(0) NOT NULL,
      CONSTRAINT account_pkey PRIMARY KEY (id)
    );
    CREATE INDEX account_email_idx ON accounts (email);

    CREATE TABLE tenant_account_joins (
      id uuid DEFAULT uuid_generate_v4() NOT NULL,
      tenant_id uuid NOT NULL,
      account_id uuid NOT NULL,
      current boolean DEFAULT false NOT NULL,
      role varchar(16) DEFAULT 'normal' NOT NULL,
      invited_by uuid,
      created_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP(0) NOT NULL,
      updated_at timestamp without time zone DEFAULT CURRENT_TIMESTAMP(0) NOT NULL,
      CONSTRAINT tenant_account_join_pkey PRIMARY KEY (id),
      CONSTRAINT unique_tenant_account_join UNIQUE (tenant_id, account_id)
    );
    CREATE INDEX tenant_account_join_account_id_idx ON tenant_account_joins (account_id);
    CREATE INDEX tenant_account_join_tenant_id_idx ON tenant_account_joins (tenant_id);

    CREATE TABLE tool_mcp_providers (
      ${[...providerColumns(level), ...extraColumns].join(",\n      ")},
      CONSTRAINT tool_mcp_provider_pkey PRIMARY KEY (id),
      CONSTRAINT unique_mcp_provider_name UNIQUE (tenant_id, name),
      CONSTRAINT unique_mcp_provider_server_identifier UNIQUE (tenant_id, server_identifier),
      CONSTRAINT unique_mcp_provider_server_url UNIQUE (tenant_id, server_url_hash)
    );
  `);
}

type KeyPair = { publicKeyPem: string; privateKeyPem: string };

const generateRsaKeyPair = promisify(generateKeyPair);
// Key pairs are shared by all fixtures of a test process: RSA-2048 generation is slow.
const keyCache: Promise<KeyPair>[] = [];
const UNIQUE_KEYS_UP_TO = 20;
const SHARED_KEY_POOL = 8;

const keyPairs = (count: number): Promise<KeyPair[]> => {
  while (keyCache.length < count)
    keyCache.push(
      generateRsaKeyPair("rsa", {
        modulusLength: 2048,
        publicKeyEncoding: { type: "spki", format: "pem" },
        privateKeyEncoding: { type: "pkcs8", format: "pem" },
      }).then(({ publicKey, privateKey }) => ({ publicKeyPem: publicKey, privateKeyPem: privateKey })),
    );
  return Promise.all(keyCache.slice(0, count));
};

type Member = { accountId: string; name: string; email: string; status: string; role: string };
type Seed = FixtureSpace & { publicKey: string | null; members: Member[] };

const member = (role: string, status: string, label: string): Member => ({
  accountId: randomUUID(),
  name: `${label} ${role}`,
  email: `${label.toLowerCase().replace(/\W+/g, "-")}-${role}@example.com`,
  status,
  role,
});

const seed = (name: string, status: FixtureSpace["status"], key: KeyPair | null, members: Member[]): Seed => {
  const writer = members.find((m) => m.role === "owner" && m.status === "active") ?? members[0]!;
  return {
    id: randomUUID(),
    name,
    status,
    ownerId: writer.accountId,
    ownerName: writer.name,
    ownerEmail: writer.email,
    privateKeyPem: key?.privateKeyPem ?? null,
    publicKey: key?.publicKeyPem ?? null,
    members,
  };
};

const insertSeeds = async (db: Queryable, seeds: Seed[]) => {
  const members = seeds.flatMap((space) => space.members.map((m) => ({ ...m, tenantId: space.id })));
  await db.query(
    `INSERT INTO tenants (id, name, status, encrypt_public_key)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[])`,
    [
      seeds.map((s) => s.id),
      seeds.map((s) => s.name),
      seeds.map((s) => s.status),
      seeds.map((s) => s.publicKey),
    ],
  );
  await db.query(
    `INSERT INTO accounts (id, name, email, status)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[])`,
    [
      members.map((m) => m.accountId),
      members.map((m) => m.name),
      members.map((m) => m.email),
      members.map((m) => m.status),
    ],
  );
  await db.query(
    `INSERT INTO tenant_account_joins (tenant_id, account_id, role, current)
     SELECT tenant_id, account_id, role, role = 'owner' FROM unnest($1::uuid[], $2::uuid[], $3::text[])
       AS m(tenant_id, account_id, role)`,
    [members.map((m) => m.tenantId), members.map((m) => m.accountId), members.map((m) => m.role)],
  );
};

export interface DifyFixtureOptions {
  level: DifyLevel;
  spaces?: number;
  extraColumns?: string[];
  /** An existing empty database to build the fixture in. */
  url: string;
  /**
   * A superuser URL of the same server: close() then drops the database and the roles it made.
   * Without it close() only disconnects, and the database stays the caller's.
   */
  adminUrl?: string;
}

/**
 * A database holding a Dify schema at `level` with `spaces` ordinary tenants ("Space 001"…),
 * each with an active owner and its own RSA key (a shared pool of real keys above 20 spaces), plus
 * three special tenants: "Banned Owner Space" (owner banned, an active admin), "Archived Space"
 * (status archive) and "Vault Key Space" (encrypt_public_key is a key-vault name, not a PEM).
 */
export async function createDifyFixture(options: DifyFixtureOptions): Promise<DifyFixture> {
  const count = options.spaces ?? 3;
  const url = options.url;
  const database = decodeURIComponent(new URL(url).pathname.slice(1));
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await buildDifySchema(client, options.level, options.extraColumns);

  const keys = await keyPairs(count + 2 <= UNIQUE_KEYS_UP_TO ? count + 2 : SHARED_KEY_POOL);
  const keyFor = (index: number) => keys[index % keys.length]!;
  const digits = String(count).length;
  const seeds = Array.from({ length: count }, (_, i) => {
    const name = `Space ${String(i + 1).padStart(Math.max(digits, 3), "0")}`;
    return seed(name, "normal", keyFor(i), [member("owner", "active", name)]);
  });
  seeds.push(
    seed("Banned Owner Space", "normal", keyFor(count), [
      member("owner", "banned", "Banned Owner Space"),
      member("admin", "active", "Banned Owner Space"),
    ]),
    seed("Archived Space", "archive", keyFor(count + 1), [member("owner", "active", "Archived Space")]),
    {
      ...seed("Vault Key Space", "normal", null, [member("owner", "active", "Vault Key Space")]),
      publicKey: "vault:key-123",
    },
  );
  await insertSeeds(client, seeds);

  const privateKeys = new Map(seeds.map((s) => [s.id, s.privateKeyPem]));
  const roles: string[] = [];

  return {
    url,
    database,
    level: options.level,
    spaces: seeds.map(({ publicKey: _, members: __, ...space }) => space),
    privateKeyFor(tenantId) {
      const pem = privateKeys.get(tenantId);
      if (!pem) throw new Error(`No private key for tenant ${tenantId} in this fixture`);
      return pem;
    },
    async createRestrictedRole({ canWrite }) {
      const user = `${database}_${canWrite ? "rw" : "ro"}_${randomBytes(3).toString("hex")}`;
      const password = randomBytes(12).toString("hex");
      roles.push(user);
      await client.query(`CREATE ROLE "${user}" LOGIN PASSWORD '${password}'`);
      await client.query(`GRANT CONNECT ON DATABASE "${database}" TO "${user}"`);
      await client.query(
        `GRANT SELECT ON tenants, accounts, tenant_account_joins, alembic_version, tool_mcp_providers TO "${user}"`,
      );
      if (canWrite) await client.query(`GRANT INSERT, UPDATE, DELETE ON tool_mcp_providers TO "${user}"`);
      const roleUrl = new URL(url);
      roleUrl.username = user;
      roleUrl.password = password;
      return { user, password, url: roleUrl.toString() };
    },
    async query(sql, params) {
      return (await client.query(sql, params)).rows;
    },
    async close() {
      await client.end();
      if (!options.adminUrl) return;
      const admin = new pg.Client({ connectionString: options.adminUrl });
      await admin.connect();
      try {
        await admin.query(`DROP DATABASE "${database}" WITH (FORCE)`);
        for (const role of roles) await admin.query(`DROP ROLE "${role}"`);
      } finally {
        await admin.end();
      }
    },
  };
}

/** DatabaseSettings for a postgres:// URL, SSL off unless overridden. */
export function databaseSettings(url: string, overrides: Partial<DatabaseSettings> = {}): DatabaseSettings {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 5432),
    database: decodeURIComponent(parsed.pathname.slice(1)),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    ssl: "disable",
    ...overrides,
  };
}

/**
 * Inserts a tool_mcp_providers row the way Dify's own UI would, for conflict tests. The URL is
 * stored as given in `encryptedServerUrl` (default: a placeholder Dify could not decrypt); the hash
 * is computed from `serverUrl`, as Dify does.
 */
export async function insertForeignProvider(
  fixture: Pick<DifyFixture, "query" | "spaces">,
  row: {
    tenantId: string;
    name: string;
    serverIdentifier: string;
    serverUrl: string;
    encryptedServerUrl?: string;
    userId?: string;
    icon?: string;
    tools?: unknown[];
  },
): Promise<string> {
  const userId = row.userId ?? fixture.spaces.find((space) => space.id === row.tenantId)?.ownerId;
  if (!userId) throw new Error(`Tenant ${row.tenantId} is not in this fixture; pass userId`);
  const id = randomUUID();
  await fixture.query(
    `INSERT INTO tool_mcp_providers
       (id, name, server_identifier, server_url, server_url_hash, icon, tenant_id, user_id, authed, tools)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, true, $9)`,
    [
      id,
      row.name,
      row.serverIdentifier,
      row.encryptedServerUrl ?? "not-encrypted-by-the-fixture",
      createHash("sha256").update(row.serverUrl, "utf8").digest("hex"),
      row.icon ?? JSON.stringify({ content: "🔗", background: "#6366F1" }),
      row.tenantId,
      userId,
      JSON.stringify(row.tools ?? []),
    ],
  );
  return id;
}
