import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDifyFixture, type DifyFixture, databaseSettings } from "../support/dify-fixture";
import { startTestRuntime } from "../support/runtime";

let t: Awaited<ReturnType<typeof startTestRuntime>>;
let dify: DifyFixture;

beforeAll(async () => {
  t = await startTestRuntime();
  dify = await createDifyFixture({ level: "1.15.0", spaces: 5 });
});
afterAll(async () => {
  await t.close();
  await dify.close();
});

const platformBody = (overrides: Record<string, unknown> = {}) => ({
  name: "Dify production",
  kind: "dify-community",
  database: databaseSettings(dify.url),
  ...overrides,
});

describe("agent platforms", () => {
  it("saves a platform with a passing check and lists its spaces live", async () => {
    const created = await t.request("POST", "/api/platforms", platformBody());
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: "Dify production",
      kind: "dify-community",
      database: { hasPassword: true, ssl: "disable" },
      check: { ok: true, spaceCount: 8, capabilities: { timeouts: true, headers: true, identityMode: true } },
      version: 1,
    });
    expect(created.body.database.password).toBeUndefined();

    const id = created.body.id as string;
    expect((await t.request("GET", `/api/platforms/${id}`)).body.id).toBe(id);
    expect((await t.request("GET", "/api/platforms")).body.items.map((p: { id: string }) => p.id)).toContain(
      id,
    );

    const spaces = await t.request("GET", `/api/platforms/${id}/spaces?limit=3`);
    expect(spaces.status).toBe(200);
    expect(spaces.body.items).toHaveLength(3);
    expect(spaces.body.nextCursor).toBeTruthy();
    const rest = await t.request(
      "GET",
      `/api/platforms/${id}/spaces?limit=50&cursor=${spaces.body.nextCursor}`,
    );
    expect([...spaces.body.items, ...rest.body.items]).toHaveLength(8);

    const searched = await t.request("GET", `/api/platforms/${id}/spaces?search=vault`);
    expect(searched.body.items).toEqual([
      expect.objectContaining({ name: "Vault Key Space", canEncrypt: false, reason: "key_not_pem" }),
    ]);
  });

  it("stores a failing check with its code, and re-checks after the password is fixed", async () => {
    const created = await t.request(
      "POST",
      "/api/platforms",
      platformBody({ name: "Typo", database: { ...databaseSettings(dify.url), password: "wrong-password" } }),
    );
    expect(created.status).toBe(201);
    expect(created.body.check).toMatchObject({ ok: false, code: "auth_failed" });

    const fixed = await t.request("PATCH", `/api/platforms/${created.body.id}`, {
      database: { password: databaseSettings(dify.url).password },
      version: 1,
    });
    expect(fixed.status).toBe(200);
    expect(fixed.body.check).toMatchObject({ ok: true });
    expect(fixed.body.version).toBe(2);

    const stale = await t.request("PATCH", `/api/platforms/${created.body.id}`, {
      name: "Stale",
      version: 1,
    });
    expect(stale.status).toBe(409);
    expect(stale.body.code).toBe("conflict");

    const rechecked = await t.request("POST", `/api/platforms/${created.body.id}/check`);
    expect(rechecked.body.check.ok).toBe(true);
  });

  it("checks connection details without saving", async () => {
    const before = (await t.request("GET", "/api/platforms")).body.items.length;
    const result = await t.request("POST", "/api/platforms/check", {
      ...databaseSettings(dify.url),
      database: "nope_nothing",
    });
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({ ok: false, code: "database_not_found" });
    expect((await t.request("GET", "/api/platforms")).body.items.length).toBe(before);
  });

  it("deletes a platform and its password", async () => {
    const created = await t.request("POST", "/api/platforms", platformBody({ name: "Short-lived" }));
    const id = created.body.id as string;
    expect((await t.request("DELETE", `/api/platforms/${id}`)).status).toBe(204);
    expect((await t.request("GET", `/api/platforms/${id}`)).status).toBe(404);
    expect(await t.runtime.secrets.get(`platform/${id}/password`)).toBeNull();
    expect((await t.request("DELETE", `/api/platforms/${id}`)).status).toBe(404);
  });

  it("answers 404 for ids that are not platforms", async () => {
    for (const id of ["plt_00000000000000000000000000", "not-an-id", "ins_00000000000000000000000000"]) {
      const response = await t.request("GET", `/api/platforms/${id}`);
      expect(response.status).toBe(404);
      expect(response.body.code).toBe("not_found");
    }
  });

  it("records every write in the audit log without secrets", async () => {
    const audit = await t.request("GET", "/api/audit?targetType=platform");
    if (audit.status === 404) return;
    expect(audit.status).toBe(200);
    const actions = audit.body.items.map((event: { action: string }) => event.action);
    expect(actions).toEqual(
      expect.arrayContaining(["platform.create", "platform.update", "platform.delete"]),
    );
    expect(audit.text).not.toContain(databaseSettings(dify.url).password);
  });
});

/**
 * A server that speaks just enough of PostgreSQL's protocol to ask for the password in clear text,
 * as a hostile server would, and keeps every byte it is sent.
 */
async function startPasswordCatcher() {
  const received: Buffer[] = [];
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    socket.on("data", (chunk) => {
      received.push(chunk);
      // After the startup message: AuthenticationCleartextPassword; after the password: close.
      if (received.length === 1) socket.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3]));
      else socket.destroy();
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => connections,
    heard: (secret: string) => Buffer.concat(received).includes(secret),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

describe("the stored database password", () => {
  it("is never sent to a host, port, database or user it was not saved with", async () => {
    const catcher = await startPasswordCatcher();
    try {
      const saved = databaseSettings(dify.url);
      const id = (await t.request("POST", "/api/platforms", platformBody({ name: "Guarded" }))).body.id;
      for (const change of [
        { host: "127.0.0.1", port: catcher.port },
        { port: catcher.port },
        { database: "other" },
        { user: "other" },
      ]) {
        const refused = await t.request("PATCH", `/api/platforms/${id}`, { database: change });
        expect(refused.status, JSON.stringify(change)).toBe(400);
        expect(refused.body.code).toBe("password_required");
        expect(refused.body.message).toMatch(/password again/);
      }
      const unchanged = await t.request("GET", `/api/platforms/${id}`);
      expect(unchanged.body).toMatchObject({ version: 1, database: { port: saved.port } });

      const checked = await t.request("POST", "/api/platforms/check", {
        ...saved,
        port: catcher.port,
        password: undefined,
      });
      expect(checked.status).toBe(400);
      expect(catcher.connections()).toBe(0);

      const retyped = await t.request("PATCH", `/api/platforms/${id}`, {
        database: { host: "127.0.0.1", port: catcher.port, password: "typed again" },
      });
      expect(retyped.status).toBe(200);
      expect(catcher.heard("typed again")).toBe(true);
      expect(catcher.heard(saved.password)).toBe(false);
    } finally {
      await catcher.close();
    }
  });

  it("needs typing again for a weaker SSL mode or another CA, not for a stronger mode", async () => {
    const id = (
      await t.request(
        "POST",
        "/api/platforms",
        platformBody({ name: "Verified", database: { ...databaseSettings(dify.url), ssl: "require" } }),
      )
    ).body.id;
    const weaker = await t.request("PATCH", `/api/platforms/${id}`, { database: { ssl: "disable" } });
    expect(weaker.body.code).toBe("password_required");
    const stronger = await t.request("PATCH", `/api/platforms/${id}`, { database: { ssl: "verify-full" } });
    expect(stronger.status).toBe(200);
    const otherCa = await t.request("PATCH", `/api/platforms/${id}`, {
      database: { caPem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----" },
    });
    expect(otherCa.body.code).toBe("password_required");
  });
});
