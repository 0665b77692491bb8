import { createHash, createPublicKey, randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { DifyPools } from "../../../functions/core/dify/connection";
import { decryptToken } from "../../../functions/core/dify/encrypt-token";
import { type ProviderSpec, removeProvider, writeProvider } from "../../../functions/core/dify/writer";
import { AppError } from "../../../functions/core/errors";
import type { ToolInfo } from "../../../functions/core/mcp/discover";
import {
  createDifyFixture,
  type DifyFixture,
  type DifyLevel,
  databaseSettings,
  insertForeignProvider,
  NEWER_PROVIDER_COLUMNS,
} from "../../support/dify-fixture";

type ProviderRow = {
  id: string;
  name: string;
  server_identifier: string;
  server_url: string;
  server_url_hash: string;
  icon: string;
  tenant_id: string;
  user_id: string;
  encrypted_credentials: string | null;
  authed: boolean;
  tools: string;
  created_at: Date;
  updated_at: Date;
  timeout?: number;
  sse_read_timeout?: number;
  encrypted_headers?: string | null;
  identity_mode?: string;
};

const TOOLS: ToolInfo[] = [
  {
    name: "get_weather",
    title: "Weather",
    description: "Current weather for a city",
    inputSchema: { type: "object", properties: { city: { type: "string" }, days: { type: "int" } } },
    annotations: { readOnlyHint: true },
    meta: { "example.com/team": "a" },
  },
  { name: "ping", description: null as unknown as string, inputSchema: { type: "object" } },
];

const sha256 = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");

const refusal = async (promise: Promise<unknown>): Promise<AppError> => {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (error instanceof AppError) return error;
  throw error ?? new Error("expected a refusal");
};

const providerSpec = (tenantId: string, overrides: Partial<ProviderSpec> = {}): ProviderSpec => ({
  tenantId,
  name: "Weather Tools",
  serverIdentifier: "weather",
  serverUrl: "https://gw.example.com/gateway/ins_weather01/mcp",
  transport: "streamable-http",
  owner: "ins_weather01@plt_writer",
  credential: "sg_first-credential_AbC123",
  icon: { emoji: "🔗", background: "#6366F1" },
  tools: TOOLS,
  timeouts: { timeout: 45, sseReadTimeout: 600 },
  ...overrides,
});

const pools = new DifyPools();
afterAll(() => pools.closeAll());

describe.each<DifyLevel>(["1.6.0", "1.9.0", "1.15.0"])("writeProvider at Dify %s", (level) => {
  let fixture: DifyFixture;
  const headers = level !== "1.6.0";
  const pool = () => pools.get(`plt_writer_${level}`, databaseSettings(fixture.url));
  const space = (name: string) => fixture.spaces.find((candidate) => candidate.name === name)!;
  const rowsIn = (tenantId: string) =>
    fixture.query<ProviderRow>("SELECT * FROM tool_mcp_providers WHERE tenant_id = $1 ORDER BY name", [
      tenantId,
    ]);

  const spec = providerSpec;

  /** The URL and credential Dify would use, decrypted the way Dify does. */
  const decrypted = (row: ProviderRow) => {
    const privateKey = fixture.privateKeyFor(row.tenant_id);
    const url = decryptToken(privateKey, row.server_url);
    const stored = row.encrypted_headers ? (JSON.parse(row.encrypted_headers) as Record<string, string>) : {};
    return {
      url,
      headers: Object.fromEntries(
        Object.entries(stored).map(([name, value]) => [name, decryptToken(privateKey, value)]),
      ),
    };
  };

  const credentialOf = (row: ProviderRow) => {
    const { url, headers: sent } = decrypted(row);
    return headers ? sent.Authorization?.replace(/^Bearer /, "") : new URL(url).searchParams.get("sg_token");
  };

  beforeAll(async () => {
    fixture = await createDifyFixture({ level });
  });
  afterAll(() => fixture.close());
  beforeEach(async () => {
    await fixture.query("DELETE FROM tool_mcp_providers");
  });

  test("writes a row whose every encrypted value Dify can decrypt", async () => {
    const owner = space("Space 001");

    const result = await writeProvider(pool(), spec(owner.id));

    expect(result).toMatchObject({ action: "created", repairedDrift: false, userId: owner.ownerId });
    const [row, ...others] = await rowsIn(owner.id);
    expect(others).toEqual([]);
    expect(row!.id).toBe(result.providerId);
    const { url, headers: sent } = decrypted(row!);
    if (headers) {
      expect(url).toBe("https://gw.example.com/gateway/ins_weather01/mcp");
      expect(sent).toEqual({ Authorization: "Bearer sg_first-credential_AbC123" });
    } else {
      expect(url).toBe(
        "https://gw.example.com/gateway/ins_weather01/mcp?sg_token=sg_first-credential_AbC123",
      );
      expect(row).not.toHaveProperty("encrypted_headers");
    }
    expect(row!.server_url_hash).toBe(sha256(url));
    expect(result.serverUrlHash).toBe(row!.server_url_hash);
    expect(row).toMatchObject({
      name: "Weather Tools",
      server_identifier: "weather",
      tenant_id: owner.id,
      user_id: owner.ownerId,
      encrypted_credentials: null,
      authed: true,
    });
  });

  test("stores the icon as Python's json.dumps would, never empty", async () => {
    const owner = space("Space 001");

    await writeProvider(pool(), spec(owner.id));

    const [row] = await rowsIn(owner.id);
    expect(row!.icon).toBe('{"content": "\\ud83d\\udd17", "background": "#6366F1"}');
    expect(JSON.parse(row!.icon)).toEqual({ content: "🔗", background: "#6366F1" });
  });

  test("stores the tools in Dify's shape", async () => {
    const owner = space("Space 001");

    await writeProvider(pool(), spec(owner.id));

    const [row] = await rowsIn(owner.id);
    const tools = JSON.parse(row!.tools) as Record<string, unknown>[];
    expect(tools.map((tool) => Object.keys(tool))).toEqual([
      ["name", "title", "description", "inputSchema", "annotations", "meta"],
      ["name", "description", "inputSchema"],
    ]);
    expect(tools[0]!.inputSchema).toEqual({
      type: "object",
      properties: { city: { type: "string" }, days: { type: "integer" } },
    });
    expect(tools[1]).toEqual({
      name: "ping",
      description: "",
      inputSchema: { type: "object", properties: {} },
    });
  });

  test("writes the timeouts and identity mode where this Dify has them", async () => {
    const owner = space("Space 001");

    await writeProvider(pool(), spec(owner.id));

    const [row] = await rowsIn(owner.id);
    if (level === "1.6.0") expect(row).not.toHaveProperty("timeout");
    else expect(row).toMatchObject({ timeout: 45, sse_read_timeout: 600 });
    if (level === "1.15.0") expect(row!.identity_mode).toBe("off");
    else expect(row).not.toHaveProperty("identity_mode");
  });

  test("stamps created_at and updated_at in UTC, whatever the session's time zone", async () => {
    const owner = space("Space 001");
    const utcNow = async () =>
      (await fixture.query<{ at: Date }>("SELECT (now() AT TIME ZONE 'utc') AS at"))[0]!.at;
    const tokyo = new pg.Pool({ connectionString: fixture.url, max: 1, options: "-c TimeZone=Asia/Tokyo" });
    try {
      const before = await utcNow();
      await writeProvider(tokyo, spec(owner.id));
      const after = await utcNow();

      const [row] = await rowsIn(owner.id);
      expect(row!.created_at).toEqual(row!.updated_at);
      expect(row!.created_at.getTime()).toBeGreaterThanOrEqual(before.getTime());
      expect(row!.created_at.getTime()).toBeLessThanOrEqual(after.getTime());
    } finally {
      await tokyo.end();
    }
  });

  test("writes for the active admin when the owner is banned", async () => {
    const banned = space("Banned Owner Space");
    const [admin] = await fixture.query<{ id: string }>(
      `SELECT a.id FROM accounts a JOIN tenant_account_joins j ON j.account_id = a.id
        WHERE j.tenant_id = $1 AND j.role = 'admin' AND a.status = 'active'`,
      [banned.id],
    );

    const result = await writeProvider(pool(), spec(banned.id));

    expect(result.userId).toBe(admin!.id);
    const [row] = await rowsIn(banned.id);
    expect(row!.user_id).toBe(admin!.id);
  });

  test("re-sync replaces a rotated credential in the same row", async () => {
    const owner = space("Space 002");
    const first = await writeProvider(pool(), spec(owner.id));

    const second = await writeProvider(
      pool(),
      spec(owner.id, {
        credential: "sg_second-credential_XyZ789",
        knownProviderId: first.providerId,
        knownDigest: first.digest,
      }),
    );

    expect(second).toMatchObject({ providerId: first.providerId, action: "updated", repairedDrift: false });
    const rows = await rowsIn(owner.id);
    expect(rows).toHaveLength(1);
    expect(credentialOf(rows[0]!)).toBe("sg_second-credential_XyZ789");
    expect(rows[0]!.server_url_hash).toBe(sha256(decrypted(rows[0]!).url));
    expect(JSON.stringify(rows[0])).not.toContain("sg_first");
  });

  test("finds its own row when no provider id was recorded, by the id it derives from its owner", async () => {
    const owner = space("Space 002");
    const first = await writeProvider(pool(), spec(owner.id));

    const second = await writeProvider(pool(), spec(owner.id, { name: "Weather Tools v2" }));

    expect(second).toMatchObject({ providerId: first.providerId, action: "updated" });
    expect((await rowsIn(owner.id)).map((row) => row.name)).toEqual(["Weather Tools v2"]);
  });

  test("uses four round trips for a write once the schema is known", async () => {
    const owner = space("Space 002");
    await writeProvider(pool(), spec(owner.id));

    const again = await writeProvider(pool(), spec(owner.id));

    expect(again.roundTrips).toBe(4);
  });

  test("creates the row again after it was deleted in Dify, reporting drift", async () => {
    const owner = space("Space 003");
    const first = await writeProvider(pool(), spec(owner.id));
    await fixture.query("DELETE FROM tool_mcp_providers WHERE id = $1", [first.providerId]);

    const second = await writeProvider(
      pool(),
      spec(owner.id, { knownProviderId: first.providerId, knownDigest: first.digest }),
    );

    expect(second).toMatchObject({ action: "created", repairedDrift: true });
    expect(second.providerId).toBe(first.providerId);
    expect((await rowsIn(owner.id)).map((row) => row.id)).toEqual([second.providerId]);
  });

  test.each([
    ["renamed", "UPDATE tool_mcp_providers SET name = 'Renamed in Dify' WHERE id = $1"],
    ["emptied of tools", "UPDATE tool_mcp_providers SET tools = '[]' WHERE id = $1"],
    [
      "given another icon",
      `UPDATE tool_mcp_providers SET icon = '{"content": "x", "background": "#000"}' WHERE id = $1`,
    ],
  ])("repairs a row %s in Dify, reporting drift", async (_, edit) => {
    const owner = space("Space 003");
    const first = await writeProvider(pool(), spec(owner.id));
    await fixture.query(edit, [first.providerId]);

    const second = await writeProvider(
      pool(),
      spec(owner.id, { knownProviderId: first.providerId, knownDigest: first.digest }),
    );

    expect(second).toMatchObject({ providerId: first.providerId, action: "updated", repairedDrift: true });
    const [row] = await rowsIn(owner.id);
    expect(row!.name).toBe("Weather Tools");
    expect(JSON.parse(row!.tools)).toHaveLength(2);
  });

  test("reports no drift when only Spacegate changed the content", async () => {
    const owner = space("Space 003");
    const first = await writeProvider(pool(), spec(owner.id));

    const second = await writeProvider(
      pool(),
      spec(owner.id, {
        name: "Weather (renamed)",
        tools: TOOLS.slice(0, 1),
        knownProviderId: first.providerId,
        knownDigest: first.digest,
      }),
    );

    expect(second).toMatchObject({ action: "updated", repairedDrift: false });
  });

  test("reports no drift when Dify rewrote the tools with null fields", async () => {
    const owner = space("Space 003");
    const first = await writeProvider(pool(), spec(owner.id));
    const [row] = await rowsIn(owner.id);
    const asDifyDumps = (JSON.parse(row!.tools) as Record<string, unknown>[]).map((tool) => ({
      title: null,
      outputSchema: null,
      annotations: null,
      meta: null,
      ...tool,
    }));
    await fixture.query("UPDATE tool_mcp_providers SET tools = $2 WHERE id = $1", [
      first.providerId,
      JSON.stringify(asDifyDumps),
    ]);

    const second = await writeProvider(
      pool(),
      spec(owner.id, { knownProviderId: first.providerId, knownDigest: first.digest }),
    );

    expect(second.repairedDrift).toBe(false);
  });

  test.each([
    ["name", { name: "Weather Tools", serverIdentifier: "their_weather" }],
    ["server identifier", { name: "Their Weather", serverIdentifier: "weather" }],
  ])("refuses a foreign provider with the same %s and leaves it untouched", async (_, clash) => {
    const owner = space("Space 001");
    const foreignId = await insertForeignProvider(fixture, {
      tenantId: owner.id,
      serverUrl: "https://mcp.example.org/weather",
      ...clash,
    });
    const before = await rowsIn(owner.id);

    const error = await refusal(writeProvider(pool(), spec(owner.id)));

    expect(error.code).toBe("name_conflict");
    expect(error.status).toBe(422);
    expect(error.message).toContain(clash.name === "Weather Tools" ? '"Weather Tools"' : '"Their Weather"');
    expect(error.message).toContain('"Space 001"');
    expect(error.details).toMatchObject({ providerId: foreignId });
    expect(await rowsIn(owner.id)).toEqual(before);
  });

  /** The URL hash Dify stores for the gateway URL this spec writes (1.6 carries the credential in it). */
  const gatewayHash = (overrides: Partial<ProviderSpec> = {}) => {
    const { serverUrl, credential } = spec("", overrides);
    return headers ? serverUrl : `${serverUrl}?sg_token=${encodeURIComponent(credential)}`;
  };

  test("never takes a row created in Dify that points at the gateway URL: url_conflict, the row unchanged", async () => {
    const owner = space("Space 001");
    const foreignId = await insertForeignProvider(fixture, {
      tenantId: owner.id,
      name: "Their weather",
      serverIdentifier: "their_weather",
      serverUrl: gatewayHash(),
      tools: [{ name: "theirs" }],
    });
    const before = await rowsIn(owner.id);

    const error = await refusal(writeProvider(pool(), spec(owner.id)));

    expect(error).toMatchObject({ code: "url_conflict", status: 422, details: { providerId: foreignId } });
    expect(error.message).toContain('"Their weather"');
    expect(error.message).toContain('"Space 001"');
    expect(await rowsIn(owner.id)).toEqual(before);
  });

  test("leaves a row added in Dify with the gateway URL after its own row was deleted there", async () => {
    const owner = space("Space 002");
    const first = await writeProvider(pool(), spec(owner.id));
    await fixture.query("DELETE FROM tool_mcp_providers WHERE id = $1", [first.providerId]);
    await insertForeignProvider(fixture, {
      tenantId: owner.id,
      name: "Hand made",
      serverIdentifier: "hand_made",
      serverUrl: gatewayHash(),
    });
    const before = await rowsIn(owner.id);

    for (const skipUnchanged of [false, true]) {
      const error = await refusal(
        writeProvider(
          pool(),
          spec(owner.id, {
            knownProviderId: first.providerId,
            knownDigest: first.digest,
            skipUnchanged,
          }),
        ),
      );

      expect(error.code).toBe("url_conflict");
      expect(await rowsIn(owner.id)).toEqual(before);
    }
  });

  test("still updates a row written before ids were derived, found by its recorded id", async () => {
    const owner = space("Space 002");
    const first = await writeProvider(pool(), spec(owner.id));
    const legacyId = randomUUID();
    await fixture.query("UPDATE tool_mcp_providers SET id = $2 WHERE id = $1", [first.providerId, legacyId]);

    const second = await writeProvider(
      pool(),
      spec(owner.id, {
        credential: "sg_after_upgrade",
        knownProviderId: legacyId,
        knownDigest: first.digest,
      }),
    );

    expect(second).toMatchObject({ providerId: legacyId, action: "updated", repairedDrift: false });
    const rows = await rowsIn(owner.id);
    expect(rows.map((row) => row.id)).toEqual([legacyId]);
    expect(credentialOf(rows[0]!)).toBe("sg_after_upgrade");
  });

  test("restores the gateway URL of its row after it was changed in Dify, found by its recorded id", async () => {
    const owner = space("Space 001");
    const first = await writeProvider(pool(), spec(owner.id));
    await fixture.query(
      "UPDATE tool_mcp_providers SET server_url = 'elsewhere', server_url_hash = $2 WHERE id = $1",
      [first.providerId, sha256("https://elsewhere.example.com/mcp")],
    );

    const second = await writeProvider(
      pool(),
      spec(owner.id, { knownProviderId: first.providerId, knownDigest: first.digest }),
    );

    expect(second).toMatchObject({ providerId: first.providerId, action: "updated", repairedDrift: true });
    const [row] = await rowsIn(owner.id);
    expect(row!.server_url_hash).toBe(sha256(decrypted(row!).url));
    expect(row!.server_url_hash).toBe(first.serverUrlHash);
  });

  test("refuses a second instance with the same name in a space", async () => {
    const owner = space("Space 001");
    await writeProvider(pool(), spec(owner.id));

    const error = await refusal(
      writeProvider(
        pool(),
        spec(owner.id, {
          serverIdentifier: "weather_two",
          serverUrl: "https://gw.example.com/gateway/ins_2/mcp",
          owner: "ins_2@plt_writer",
        }),
      ),
    );

    expect(error.code).toBe("name_conflict");
    expect(await rowsIn(owner.id)).toHaveLength(1);
  });

  test("keeps rows of different instances apart within the unique constraints", async () => {
    const owner = space("Space 001");

    await writeProvider(pool(), spec(owner.id));
    await writeProvider(
      pool(),
      spec(owner.id, {
        name: "Calendar",
        serverIdentifier: "calendar",
        serverUrl: "https://gw.example.com/gateway/ins_calendar/mcp",
        owner: "ins_calendar@plt_writer",
      }),
    );
    await writeProvider(pool(), spec(space("Space 002").id));

    const duplicates = await fixture.query(
      `SELECT tenant_id FROM tool_mcp_providers GROUP BY tenant_id, name HAVING count(*) > 1
       UNION ALL SELECT tenant_id FROM tool_mcp_providers GROUP BY tenant_id, server_identifier HAVING count(*) > 1
       UNION ALL SELECT tenant_id FROM tool_mcp_providers GROUP BY tenant_id, server_url_hash HAVING count(*) > 1`,
    );
    expect(duplicates).toEqual([]);
    expect((await rowsIn(owner.id)).map((row) => row.server_identifier)).toEqual(["calendar", "weather"]);
  });

  test("two concurrent writes of the same provider leave exactly one row", async () => {
    const owner = space("Space 002");
    // A second pool, so the two writes really run on two connections.
    const other = new pg.Pool({ connectionString: fixture.url, max: 1 });
    try {
      const results = await Promise.all([
        writeProvider(pool(), spec(owner.id)),
        writeProvider(other, spec(owner.id)),
      ]);

      expect(results.map((result) => result.action).sort()).toEqual(["created", "updated"]);
      expect(new Set(results.map((result) => result.providerId)).size).toBe(1);
      expect(await rowsIn(owner.id)).toHaveLength(1);
    } finally {
      await other.end();
    }
  });

  test.each([
    ["Archived Space", "tenant_archived"],
    ["Vault Key Space", "key_not_pem"],
  ])("refuses %s with %s", async (name, code) => {
    const error = await refusal(writeProvider(pool(), spec(space(name).id)));

    expect(error).toMatchObject({ code, status: 422 });
    expect(error.message).toContain(name);
    expect(await rowsIn(space(name).id)).toEqual([]);
  });

  test("refuses a space that does not exist", async () => {
    for (const tenantId of [randomUUID(), "not-a-uuid"]) {
      const error = await refusal(writeProvider(pool(), spec(tenantId)));

      expect(error).toMatchObject({ code: "tenant_not_found", status: 422 });
    }
  });

  test("refuses a space without an active owner or admin", async () => {
    const tenantId = randomUUID();
    const publicKey = createPublicKey(fixture.privateKeyFor(space("Space 001").id))
      .export({ type: "spki", format: "pem" })
      .toString();
    await fixture.query("INSERT INTO tenants (id, name, encrypt_public_key) VALUES ($1, 'Ownerless', $2)", [
      tenantId,
      publicKey,
    ]);

    const error = await refusal(writeProvider(pool(), spec(tenantId)));

    expect(error).toMatchObject({ code: "no_owner", status: 422 });
  });

  test("refuses tools Dify could not list", async () => {
    const tools = [{ ...TOOLS[0]!, inputSchema: { type: "object", properties: { at: { type: "date" } } } }];

    const error = await refusal(writeProvider(pool(), spec(space("Space 001").id, { tools })));

    expect(error).toMatchObject({ code: "tools_incompatible", status: 422 });
    expect(await rowsIn(space("Space 001").id)).toEqual([]);
  });

  test("applies this Dify's server identifier width", async () => {
    const identifier = "a".repeat(30);

    const attempt = writeProvider(pool(), spec(space("Space 001").id, { serverIdentifier: identifier }));

    if (level === "1.6.0") {
      const error = await refusal(attempt);
      expect(error).toMatchObject({ code: "identifier_too_long", status: 422, details: { maxLength: 24 } });
    } else {
      expect((await attempt).action).toBe("created");
    }
  });

  test("refuses a schema with a required column it does not know, naming it", async () => {
    const newer = await createDifyFixture({
      level,
      spaces: 1,
      extraColumns: ["audience varchar(20) NOT NULL"],
    });
    const newerPool = new pg.Pool({ connectionString: newer.url, max: 1 });
    try {
      const error = await refusal(writeProvider(newerPool, spec(newer.spaces[0]!.id)));

      expect(error).toMatchObject({ code: "unknown_required_column", status: 422 });
      expect(error.message).toContain("audience");
      expect(await newer.query("SELECT id FROM tool_mcp_providers")).toEqual([]);
    } finally {
      await newerPool.end();
      await newer.close();
    }
  });
});

describe("writeProvider on a Dify with a transport column", () => {
  let fixture: DifyFixture;
  const pool = () => pools.get("plt_writer_newer", databaseSettings(fixture.url));
  const [first, second] = [0, 1];
  const tenant = (index: number) => fixture.spaces[index]!.id;
  const spec = providerSpec;
  const rowOf = async (providerId: string) =>
    (
      await fixture.query<{ transport: string; forward_user_identity: boolean }>(
        "SELECT transport, forward_user_identity FROM tool_mcp_providers WHERE id = $1",
        [providerId],
      )
    )[0];

  beforeAll(async () => {
    fixture = await createDifyFixture({
      level: "1.15.0",
      extraColumns: [NEWER_PROVIDER_COLUMNS.transport, NEWER_PROVIDER_COLUMNS.forwardUserIdentity],
    });
  });
  afterAll(() => fixture.close());
  beforeEach(async () => {
    await fixture.query("DELETE FROM tool_mcp_providers");
  });

  test("writes the instance's transport as Dify names it, and leaves forward_user_identity to its default", async () => {
    const streamable = await writeProvider(pool(), spec(tenant(first)));
    const sse = await writeProvider(
      pool(),
      spec(tenant(second), {
        serverUrl: "https://gw.example.com/gateway/ins_weather01/sse",
        transport: "sse",
      }),
    );

    expect(await rowOf(streamable.providerId)).toEqual({
      transport: "streamable_http",
      forward_user_identity: false,
    });
    expect(await rowOf(sse.providerId)).toEqual({ transport: "sse", forward_user_identity: false });
  });

  test("repairs a transport changed in Dify and keeps what Dify set in a column it does not know", async () => {
    const written = await writeProvider(pool(), spec(tenant(first)));
    await fixture.query(
      "UPDATE tool_mcp_providers SET transport = 'sse', forward_user_identity = true WHERE id = $1",
      [written.providerId],
    );

    const again = await writeProvider(
      pool(),
      spec(tenant(first), {
        knownProviderId: written.providerId,
        knownDigest: written.digest,
        skipUnchanged: true,
      }),
    );

    expect(again).toMatchObject({ action: "updated", repairedDrift: true });
    expect(await rowOf(written.providerId)).toEqual({
      transport: "streamable_http",
      forward_user_identity: true,
    });
  });

  test("writes the value a constrained transport column accepts", async () => {
    const constrained = await createDifyFixture({
      level: "1.15.0",
      spaces: 1,
      extraColumns: ["transport varchar(32) DEFAULT 'sse' NOT NULL CHECK (transport IN ('sse', 'mcp'))"],
    });
    const constrainedPool = new pg.Pool({ connectionString: constrained.url, max: 1 });
    try {
      const written = await writeProvider(constrainedPool, spec(constrained.spaces[0]!.id));

      const [row] = await constrained.query<{ transport: string }>(
        "SELECT transport FROM tool_mcp_providers WHERE id = $1",
        [written.providerId],
      );
      expect(row!.transport).toBe("mcp");
    } finally {
      await constrainedPool.end();
      await constrained.close();
    }
  });
});

describe("removeProvider", () => {
  let fixture: DifyFixture;
  const pool = () => pools.get("plt_writer_remove", databaseSettings(fixture.url));
  /** Writes the row of instance `ins_<key>`, named and identified by `key`. */
  const writeOwn = (tenantId: string, key: string) =>
    writeProvider(
      pool(),
      providerSpec(tenantId, {
        name: key,
        serverIdentifier: key,
        serverUrl: `https://gw.example.com/gateway/ins_${key}/mcp`,
        owner: `ins_${key}@plt_remove`,
      }),
    );
  const own = (key: string) => ({ owner: `ins_${key}@plt_remove`, serverIdentifier: key });

  beforeAll(async () => {
    fixture = await createDifyFixture({ level: "1.15.0" });
  });
  afterAll(() => fixture.close());

  test("deletes only Spacegate's row, once", async () => {
    const [ours, theirs] = fixture.spaces as [DifyFixture["spaces"][number], DifyFixture["spaces"][number]];
    const { providerId } = await writeOwn(ours.id, "weather");
    const foreignId = await insertForeignProvider(fixture, {
      tenantId: theirs.id,
      name: "weather",
      serverIdentifier: "weather",
      serverUrl: "https://mcp.example.org/weather",
    });
    const handMade = await insertForeignProvider(fixture, {
      tenantId: ours.id,
      name: "Hand made",
      serverIdentifier: "hand_made",
      serverUrl: "https://gw.example.com/gateway/ins_weather/sse",
    });

    expect(await removeProvider(pool(), theirs.id, own("weather"))).toEqual({ removed: false });
    expect(
      await removeProvider(pool(), ours.id, { ...own("weather"), serverIdentifier: "hand_made" }),
    ).toEqual({ removed: false });
    expect(await removeProvider(pool(), ours.id, { ...own("weather"), providerId })).toEqual({
      removed: true,
    });
    expect(await removeProvider(pool(), ours.id, { ...own("weather"), providerId })).toEqual({
      removed: false,
    });

    const left = await fixture.query<{ id: string }>("SELECT id FROM tool_mcp_providers ORDER BY name");
    expect(left.map((row) => row.id)).toEqual([handMade, foreignId]);
  });

  test("removes a row written before ids were derived, by its recorded id", async () => {
    const [ours] = fixture.spaces;
    const { providerId } = await writeOwn(ours!.id, "legacy");
    const legacyId = randomUUID();
    await fixture.query("UPDATE tool_mcp_providers SET id = $2 WHERE id = $1", [providerId, legacyId]);

    expect(await removeProvider(pool(), ours!.id, { ...own("legacy"), providerId: legacyId })).toEqual({
      removed: true,
    });
    expect(await fixture.query("SELECT id FROM tool_mcp_providers WHERE id = $1", [legacyId])).toEqual([]);
  });

  test("keeps a row whose identifier was changed in Dify", async () => {
    const [ours] = fixture.spaces;
    const { providerId } = await writeOwn(ours!.id, "calendar");
    await fixture.query("UPDATE tool_mcp_providers SET server_identifier = 'cal' WHERE id = $1", [
      providerId,
    ]);

    expect(await removeProvider(pool(), ours!.id, { ...own("calendar"), providerId })).toEqual({
      removed: false,
    });
  });

  test("answers removed false for ids that are not UUIDs", async () => {
    expect(
      await removeProvider(pool(), "nope", { providerId: "nope", owner: "x", serverIdentifier: "weather" }),
    ).toEqual({ removed: false });
  });
});
