import { execFileSync } from "node:child_process";
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir, userInfo } from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { freePort, startEmbeddedPostgres } from "../../../dev/embedded-postgres";
import { checkDify } from "../../../functions/core/dify/check";
import { Platform } from "../../../functions/core/platform";
import {
  ALEMBIC_HEADS,
  buildDifySchema,
  createDifyFixture,
  type DifyFixture,
  type DifyLevel,
  databaseSettings,
  NEWER_PROVIDER_COLUMNS,
} from "../../support/dify-fixture";
import { createTestDatabase } from "../../support/postgres";

const failureOf = async (...args: Parameters<typeof checkDify>) => {
  const result = await checkDify(...args);
  if (result.ok) throw new Error("expected the check to fail");
  return result;
};

describe("checkDify against a Dify database", () => {
  test.each([
    [
      "1.6.0",
      {
        timeouts: false,
        headers: false,
        identityMode: false,
        transport: false,
        serverIdentifierMaxLength: 24,
      },
      13,
    ],
    [
      "1.9.0",
      { timeouts: true, headers: true, identityMode: false, transport: false, serverIdentifierMaxLength: 64 },
      16,
    ],
    [
      "1.15.0",
      { timeouts: true, headers: true, identityMode: true, transport: false, serverIdentifierMaxLength: 64 },
      17,
    ],
  ] as const)(
    "accepts Dify %s and reports what its schema can do",
    async (level, capabilities, columnCount) => {
      const fixture = await createDifyFixture({ level: level as DifyLevel });
      try {
        const result = await checkDify(databaseSettings(fixture.url));

        expect(result).toMatchObject({
          ok: true,
          alembicHead: ALEMBIC_HEADS[level],
          capabilities,
          unknownRequiredColumns: [],
          spaceCount: 6,
          spacesWithoutKey: 1,
        });
        expect(result.ok && result.columns).toHaveLength(columnCount);
      } finally {
        await fixture.close();
      }
    },
  );

  describe("with one fixture", () => {
    let fixture: DifyFixture;
    beforeAll(async () => {
      fixture = await createDifyFixture({
        level: "1.15.0",
        extraColumns: [
          NEWER_PROVIDER_COLUMNS.transport,
          NEWER_PROVIDER_COLUMNS.forwardUserIdentity,
          "audience varchar(16) NOT NULL",
          "region text DEFAULT 'eu' NOT NULL",
          "note text",
        ],
      });
    });
    afterAll(() => fixture.close());

    test("lists the optional columns it found, those it leaves to their defaults, and those it cannot fill", async () => {
      const result = await checkDify(databaseSettings(fixture.url));
      expect(result).toMatchObject({
        ok: true,
        capabilities: { transport: true },
        optionalColumns: ["timeout", "sse_read_timeout", "encrypted_headers", "identity_mode", "transport"],
        defaultedColumns: ["forward_user_identity", "region", "note"],
        unknownRequiredColumns: ["audience"],
      });
    });

    test("accepts a role that may read Dify's tables and write providers", async () => {
      const role = await fixture.createRestrictedRole({ canWrite: true });
      expect(await checkDify(databaseSettings(role.url))).toMatchObject({ ok: true });
    });

    test("no_write_permission for a role that may only read", async () => {
      const role = await fixture.createRestrictedRole({ canWrite: false });
      const result = await failureOf(databaseSettings(role.url));
      expect(result.code).toBe("no_write_permission");
      expect(result.message).toContain(role.user);
    });

    test("no_read_permission for a role that cannot read accounts", async () => {
      const role = await fixture.createRestrictedRole({ canWrite: true });
      await fixture.query(`REVOKE SELECT ON accounts FROM "${role.user}"`);
      expect((await failureOf(databaseSettings(role.url))).code).toBe("no_read_permission");
    });

    test("auth_failed for a wrong password, without the password in the message", async () => {
      const role = await fixture.createRestrictedRole({ canWrite: true });
      const result = await failureOf(databaseSettings(role.url, { password: "wrong-secret-password" }));
      expect(result.code).toBe("auth_failed");
      expect(result.message).toContain(role.user);
      expect(result.message).not.toContain("wrong-secret-password");
    });

    test("database_not_found for a database that does not exist", async () => {
      const result = await failureOf(databaseSettings(fixture.url, { database: "no_such_database" }));
      expect(result.code).toBe("database_not_found");
    });

    test("ssl_failed when SSL is required but the server has none", async () => {
      expect((await failureOf(databaseSettings(fixture.url, { ssl: "require" }))).code).toBe("ssl_failed");
    });
  });

  test("not_dify for a database without Dify's tables", async () => {
    const { url } = await createTestDatabase("empty");
    expect((await failureOf(databaseSettings(url))).code).toBe("not_dify");
  });

  test("dify_too_old for a Dify database without tool_mcp_providers", async () => {
    const { url } = await createTestDatabase("old");
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await buildDifySchema(client, "1.6.0");
    await client.query("DROP TABLE tool_mcp_providers");
    await client.end();

    expect((await failureOf(databaseSettings(url))).code).toBe("dify_too_old");
  });
});

describe("checkDify when the server cannot be reached", () => {
  const settings = { database: "dify", user: "dify", password: "secret", ssl: "disable" } as const;

  test("dns_not_found for a host that does not exist", async () => {
    const result = await failureOf({ ...settings, host: "nonexistent.invalid", port: 5432 });
    expect(result.code).toBe("dns_not_found");
    expect(result.message).toContain("nonexistent.invalid");
  });

  test("connection_refused for a closed port", async () => {
    const port = await freePort();
    expect((await failureOf({ ...settings, host: "127.0.0.1", port })).code).toBe("connection_refused");
  });

  test("timeout for a server that accepts and never answers", async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const result = await failureOf({ ...settings, host: "127.0.0.1", port }, { timeoutMs: 1500 });
      expect(result.code).toBe("timeout");
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});

describe("checkDify against a server that accepts only SSL", () => {
  let workDir: string;
  let server: Awaited<ReturnType<typeof startEmbeddedPostgres>>;
  let caPem: string;
  let otherCaPem: string;

  const selfSigned = (name: string, subjectAltName: string) => {
    const [key, cert] = [path.join(workDir, `${name}.key`), path.join(workDir, `${name}.crt`)];
    const args = ["-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", `/CN=${name}`];
    execFileSync(
      "openssl",
      ["req", "-x509", ...args, "-addext", `subjectAltName=${subjectAltName}`, "-keyout", key, "-out", cert],
      {
        stdio: "ignore",
      },
    );
    return { key, cert };
  };

  beforeAll(async () => {
    workDir = mkdtempSync(path.join(tmpdir(), "spacegate-ssl-"));
    const serverCert = selfSigned("server", "IP:127.0.0.1");
    caPem = readFileSync(serverCert.cert, "utf8");
    otherCaPem = readFileSync(selfSigned("other", "IP:127.0.0.1").cert, "utf8");

    // Postgres runs as the postgres user when the tests run as root; it must be able to read its key.
    if (userInfo().uid === 0) {
      const [uid, gid] = ["-u", "-g"].map((flag) =>
        Number(execFileSync("id", [flag, "postgres"]).toString()),
      );
      for (const file of [workDir, serverCert.key, serverCert.cert]) chownSync(file, uid!, gid!);
    }
    server = await startEmbeddedPostgres({
      name: "spacegate-ssl",
      flags: [
        "-c",
        "ssl=on",
        "-c",
        `ssl_cert_file=${serverCert.cert}`,
        "-c",
        `ssl_key_file=${serverCert.key}`,
      ],
      beforeStart: (databaseDir) =>
        writeFileSync(
          path.join(databaseDir, "pg_hba.conf"),
          "hostssl all all 127.0.0.1/32 password\nhostssl all all ::1/128 password\n",
        ),
    });

    const admin = new pg.Client({ connectionString: server.url(), ssl: { rejectUnauthorized: false } });
    await admin.connect();
    await buildDifySchema(admin, "1.15.0");
    await admin.end();
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  const settings = () => databaseSettings(server.url(), { ssl: "require" });

  test("ssl_required when connecting without SSL", async () => {
    expect((await failureOf({ ...settings(), ssl: "disable" })).code).toBe("ssl_required");
  });

  test("accepts SSL without verification", async () => {
    expect(await checkDify(settings())).toMatchObject({ ok: true, spaceCount: 0 });
  });

  test("accepts a certificate verified against the given CA", async () => {
    expect(await checkDify({ ...settings(), ssl: "verify-full", caPem })).toMatchObject({ ok: true });
  });

  test("ssl_untrusted for a certificate signed by another CA", async () => {
    const result = await failureOf({ ...settings(), ssl: "verify-full", caPem: otherCaPem });
    expect(result.code).toBe("ssl_untrusted");
  });

  test("ssl_untrusted when the certificate does not name the host", async () => {
    const result = await failureOf({ ...settings(), host: "localhost", ssl: "verify-full", caPem });
    expect(result.code).toBe("ssl_untrusted");
    expect(result.message).toContain("does not name the host localhost");
  });

  test("verifies by default, and refuses a self-signed certificate with ssl_untrusted", async () => {
    const { ssl: _, ...withoutSsl } = settings();
    expect(Platform.Database.parse(withoutSsl).ssl).toBe("verify-full");
    const result = await Platform.check(withoutSsl);
    expect(result).toMatchObject({ ok: false, code: "ssl_untrusted" });
    expect(result.ok || result.message).toMatch(/not trusted.*Paste the CA certificate.*"require"/);
  });

  test("require stays the explicit choice to encrypt without verifying", async () => {
    expect(await Platform.check({ ...settings(), ssl: "require" })).toMatchObject({ ok: true });
  });
});
