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
