import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type McpUpstream, startMcpUpstream } from "../../dev/mcp-upstream";
import { Access } from "../../functions/core/access";
import { captureOutput } from "../support/capture-output";
import { createDifyFixture, type DifyFixture, databaseSettings } from "../support/dify-fixture";
import { ADMIN_PASSWORD, startTestRuntime } from "../support/runtime";

let t: Awaited<ReturnType<typeof startTestRuntime>>;
let dify: DifyFixture;
let upstream: McpUpstream;
let output: ReturnType<typeof captureOutput>;
let platformId: string;
let databasePassword: string;
let instanceId: string;
const revealed: string[] = [];

beforeAll(async () => {
  output = captureOutput();
  t = await startTestRuntime();
  dify = await createDifyFixture({ level: "1.9.0", spaces: 3 });
  upstream = await startMcpUpstream();
  const role = await dify.createRestrictedRole({ canWrite: true });
  databasePassword = role.password;
  platformId = (
    await t.request("POST", "/api/platforms", {
      name: "Dify",
      kind: "dify-enterprise",
      database: databaseSettings(role.url),
    })
  ).body.id;
  instanceId = (
    await t.request("POST", "/api/instances", {
      name: "Docs",
      upstream: { url: upstream.mcpUrl, transport: "streamable-http" },
      headers: { "X-Api-Key": "instance-default-key-0001" },
    })
  ).body.id;
});
afterAll(async () => {
  output.stop();
  await t.close();
  await dify.close();
  await upstream.close();
});

const grantUrl = (spaceId: string, suffix = "") =>
  `/api/instances/${instanceId}/access/${platformId}/${spaceId}${suffix}`;
const tokenIndex = (credential: string) =>
  t.runtime.store.get(Access.tokenKey(Access.hashCredential(credential)));

describe("access grants", () => {
  it("gives a space access with its own credential and the instance's default headers", async () => {
    const space = dify.spaces[0]!;
    const created = await t.request("PUT", grantUrl(space.id), {});
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      instanceId,
      platformId,
      spaceId: space.id,
      spaceName: space.name,
      owner: { name: space.ownerName, email: space.ownerEmail },
      enabled: true,
      headers: { "X-Api-Key": "••••0001" },
      expiresAt: null,
      lastUsedAt: null,
      calls: 0,
    });
    expect(created.body.credential).toMatch(/^sg_••••.{4}$/);

    const again = await t.request("PUT", grantUrl(space.id), {});
    expect(again.status).toBe(200);
    expect(again.body.credential).toBe(created.body.credential);

    const list = await t.request("GET", `/api/instances/${instanceId}/access`);
    expect(list.body.items).toHaveLength(1);
    expect((await t.request("GET", `/api/instances/${instanceId}`)).body.spaceCount).toBe(1);
  });

  it("reveals the credential, indexed by its sha256, and audits the reveal", async () => {
    const space = dify.spaces[0]!;
    const reveal = await t.request("POST", grantUrl(space.id, "/reveal"));
    expect(reveal.status).toBe(200);
    expect(reveal.headers.get("cache-control")).toBe("no-store");
    const credential = reveal.body.credential as string;
    revealed.push(credential);
    expect(credential).toMatch(/^sg_[A-Za-z0-9_-]{43}$/);
    expect(await tokenIndex(credential)).toMatchObject({ instanceId, platformId, spaceId: space.id });
    expect(Access.matches(credential, Access.hashCredential(credential))).toBe(true);
    expect(Access.matches(`${credential}x`, Access.hashCredential(credential))).toBe(false);

    const audit = await t.request("GET", "/api/audit?action=access.reveal");
    expect(audit.body.items).toHaveLength(1);
    expect(audit.body.items[0]).toMatchObject({
      actor: { type: "admin" },
      target: { type: "access", name: space.name },
    });
    expect(audit.text).not.toContain(credential);
  });

  it("rotates: the old credential stops working at once", async () => {
    const space = dify.spaces[0]!;
    const before = revealed[0]!;
    const rotated = await t.request("POST", grantUrl(space.id, "/rotate"));
    expect(rotated.status).toBe(200);
    expect(rotated.body.lastRotatedAt).not.toBeNull();
    const after = (await t.request("POST", grantUrl(space.id, "/reveal"))).body.credential as string;
    revealed.push(after);
    expect(after).not.toBe(before);
    expect(await tokenIndex(before)).toBeNull();
    expect(await tokenIndex(after)).not.toBeNull();
  });

  it("edits a space's headers, keeps values not sent back, and disables access", async () => {
    const space = dify.spaces[1]!;
    await t.request("PUT", grantUrl(space.id), {
      headers: { "X-Api-Key": "space-two-key-000002", "X-Tenant": "two" },
    });
    const patched = await t.request("PATCH", grantUrl(space.id), {
      enabled: false,
      headers: { "X-Api-Key": { keep: true }, "X-Region": "eu-west-1" },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.enabled).toBe(false);
    expect(patched.body.headers).toEqual({ "X-Api-Key": "••••0002", "X-Region": "••••" });
    const grant = await Access.load(instanceId, platformId, space.id);
    expect(await Access.headersOf(grant)).toEqual({
      "X-Api-Key": "space-two-key-000002",
      "X-Region": "eu-west-1",
    });
  });

  it("removes access with its token index item", async () => {
    const space = dify.spaces[2]!;
    await t.request("PUT", grantUrl(space.id), {});
    const credential = (await t.request("POST", grantUrl(space.id, "/reveal"))).body.credential as string;
    revealed.push(credential);
    expect((await t.request("DELETE", grantUrl(space.id))).status).toBe(204);
    expect(await tokenIndex(credential)).toBeNull();
    expect((await t.request("GET", grantUrl(space.id, "/reveal"))).status).toBe(404);
    expect((await t.request("POST", grantUrl(space.id, "/rotate"))).status).toBe(404);
  });

  it("refuses spaces, platforms and instances that do not exist, naming them", async () => {
    const unknownSpace = await t.request("PUT", grantUrl("6f1d2c3b-0000-4000-8000-000000000000"), {});
    expect(unknownSpace.status).toBe(404);
    expect(unknownSpace.body.message).toContain("6f1d2c3b-0000-4000-8000-000000000000");
    const unknownPlatform = await t.request(
      "PUT",
      `/api/instances/${instanceId}/access/plt_00000000000000000000000000/${dify.spaces[0]!.id}`,
      {},
    );
    expect(unknownPlatform.status).toBe(404);
    const badExpiry = await t.request("PUT", grantUrl(dify.spaces[0]!.id), {
      expiresAt: "2001-01-01T00:00:00Z",
    });
    expect(badExpiry.status).toBe(400);
  });

  it("issues a different credential every time", () => {
    const credentials = new Set(Array.from({ length: 1000 }, () => Access.newCredential()));
    expect(credentials.size).toBe(1000);
  });

  it("never writes a secret to a response or a log line", async () => {
    const everything = [
      (await t.request("GET", `/api/instances/${instanceId}/access`)).text,
      (await t.request("GET", `/api/instances/${instanceId}`)).text,
      (await t.request("GET", `/api/platforms/${platformId}`)).text,
      (await t.request("GET", "/api/audit?limit=200")).text,
      output.text(),
    ].join("\n");
    const secrets = [
      ADMIN_PASSWORD,
      databasePassword,
      "instance-default-key-0001",
      "space-two-key-000002",
      ...revealed,
    ];
    for (const secret of secrets) expect(everything).not.toContain(secret);
    expect(output.text()).toContain("api request");
  });
});
